//! Any `where` JSON and `sort` text of a conversation query, as the server reads them: never a panic.
//! Input: the sort text, a NUL byte, then the `where` JSON.
#![no_main]

use chinwag_server::query::{compare, parse_sort, parse_where};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (sort, where_text) = text.split_once('\0').unwrap_or(("", text));
    let Ok(where_json) = serde_json::from_str::<serde_json::Value>(where_text) else {
        return;
    };
    let keys = parse_sort(sort);
    if let Ok(filter) = parse_where(&where_json) {
        let docs = [
            serde_json::json!({"objectId": "c1", "m": ["Tom", "Jerry"], "name": "Tom & Jerry", "tr": false,
                "lm": {"__type": "Date", "iso": "2026-11-26T10:00:00.000Z"}, "attr": {"type": "private", "n": 3}}),
            serde_json::json!({"objectId": "c2", "m": ["Mary"], "c": "Mary", "unique": true, "n": -1.5}),
        ];
        for doc in &docs {
            let doc = doc.as_object().expect("object");
            let _ = filter.matches(doc);
            for key in ["m", "name", "attr.type", "lm"] {
                let _ = filter.reads_key(key);
            }
        }
        let _ = filter.object_ids();
        let _ = filter.required_members();
        let _ = compare(
            docs[0].as_object().expect("object"),
            docs[1].as_object().expect("object"),
            &keys,
        );
    }
});
