//! JSON text written in place, for what crosses to JavaScript.
//!
//! Events are the receive path's hot output: building a `serde_json::Value` per event meant a map
//! (and a hashed, allocated key) per field and a formatter pass to print it. [`JsonWriter`] appends
//! straight to one reused buffer instead, with the separators tracked for the caller.

use chinwag_core::json::{self, Map, Value};

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
        json::write_string(&mut self.out, text);
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
        json::push_integer(&mut self.out, n < 0, n.unsigned_abs());
        self
    }

    /// An integer, or null.
    pub fn opt_int(&mut self, n: Option<i64>) -> &mut Self {
        match n {
            Some(n) => self.int(n),
            None => self.null(),
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
        self.separate();
        value.write_json(&mut self.out);
        self
    }

    /// A JSON object.
    pub fn object(&mut self, map: &Map) -> &mut Self {
        self.separate();
        map.write_json(&mut self.out);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_and_escapes_parse_back() {
        let attrs = json::parse(r#"{"a\"b":[1,-2.5,null,true,"x\n\u0001y"],"n":{"m":18446744073709551615}}"#)
            .expect("valid JSON");
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
        let back = json::parse(j.as_str()).expect("valid JSON");
        assert_eq!(back["s"], "q\"\\\t€");
        assert_eq!(back["i"], i64::MIN);
        assert_eq!(back["o"], Value::Null);
        assert_eq!(back["list"], Value::from_iter(["a", "b"]));
        assert_eq!(back["attrs"], attrs);
        assert_eq!(back["raw"]["k"], 1);
    }
}
