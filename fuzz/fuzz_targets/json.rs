//! Any text as JSON: the protocol's parser never panics, accepts what serde_json accepts and refuses
//! what it refuses (but for two quirks of serde_json), and what it reads writes back to text that reads
//! the same. Typed-message payloads parse without panicking.
#![no_main]

use chinwag_protocol::{TypedMessage, json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = json::parse(text);
    let serde = serde_json::from_str::<serde_json::Value>(text);
    // Two differences are allowed. serde_json refuses numbers beyond f64 (`1e400`); ours keeps a
    // number's text, as JavaScript's `JSON.parse` reads it (as Infinity). And serde_json reads an object
    // whose key is its private `$serde_json::private::…` token as something else.
    let out_of_range = serde
        .as_ref()
        .is_err_and(|e| e.to_string().starts_with("number out of range"));
    if !out_of_range && !text.contains("$serde_json::private::") {
        assert_eq!(
            ours.is_ok(),
            serde.is_ok(),
            "accepts the same documents as serde_json: {text:?} ours {ours:?}"
        );
    }
    if let Ok(value) = ours {
        let mut written = String::new();
        value.write_json(&mut written);
        let again = json::parse(&written).expect("written JSON reads back");
        assert_eq!(again, value, "parse(write(v)) == v for {written}");
    }
    let _ = json::parse_keeping_repeated_keys(text);
    let _ = TypedMessage::parse(text);
});
