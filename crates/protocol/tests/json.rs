//! The `json` module against serde_json, the reference: the same documents accepted, the same values
//! read, the same text written.

use chinwag_protocol::json;
use proptest::prelude::*;

/// Any serde_json value: strings with escapes, controls and astral characters; integers and floats.
fn reference_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[\u{0}-\u{7f}é中😀\u{2028}]{0,8}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec(("[a-c_\"\\\\é]{0,3}", inner), 0..6)
                .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Text that is sometimes JSON: pieces of JSON syntax, escapes and numbers glued at random.
fn near_json() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"".to_owned()),
        Just("\"k\"".to_owned()),
        Just(" ".to_owned()),
        Just("\\".to_owned()),
        Just("\\u".to_owned()),
        Just("d83d".to_owned()),
        Just("\\ude00".to_owned()),
        Just("null".to_owned()),
        Just("tru".to_owned()),
        Just("true".to_owned()),
        Just("-".to_owned()),
        Just(".".to_owned()),
        Just("e".to_owned()),
        Just("+".to_owned()),
        Just("\u{1}".to_owned()),
        "[0-9]{1,3}",
        "[a-z]{1,2}",
    ];
    prop::collection::vec(piece, 0..14).prop_map(|pieces| pieces.concat())
}

/// Our value as serde_json reads its text (the text itself is checked byte for byte below).
fn reference_of(value: &json::Value) -> serde_json::Value {
    serde_json::from_str(&value.to_json()).expect("ours writes JSON")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// serde_json's compact text of any value reads back and writes out byte for byte (numbers are kept as
    /// written, strings escaped as serde_json escapes them, object order kept).
    #[test]
    fn serde_json_text_round_trips_exactly(value in reference_value()) {
        let text = serde_json::to_string(&value).expect("serialise");
        let ours = json::parse(&text).expect("ours reads what serde_json writes");
        prop_assert_eq!(ours.to_json(), text.clone());
        // And the value read is the same value.
        prop_assert_eq!(reference_of(&ours), serde_json::from_str::<serde_json::Value>(&text).expect("json"));
    }

    /// Both accept the same texts and read them to the same values (repeated keys included); serde_json
    /// alone refuses numbers beyond `f64`'s range, which ours keeps as text.
    #[test]
    fn accepts_what_serde_json_accepts(text in near_json()) {
        let ours = json::parse(&text);
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(reference) => prop_assert_eq!(ours.as_ref().ok().map(reference_of), Some(reference)),
            Err(error) if error.to_string().contains("number out of range") => {}
            Err(error) => prop_assert!(ours.is_err(), "serde_json refused {:?} ({}); ours read {:?}", text, error, ours),
        }
    }
}

#[test]
fn documents_with_whitespace_and_repeated_keys_read_as_serde_json_reads_them() {
    for text in [
        " { \"a\" : [ 1 , 2 ] , \"b\" : { } , \"a\" : \"x\" } ",
        "\t[\n]\r",
        "{\"k\":{\"k\":1,\"k\":2},\"j\":[{\"z\":1,\"z\":null}]}",
        "\"\\ud83d\\ude00\\/\\b\\f\"",
        "1e400",
    ] {
        let reference = serde_json::from_str::<serde_json::Value>(text).ok();
        if text == "1e400" {
            // Out of `f64`'s range: serde_json refuses it; ours keeps the text and answers infinity.
            assert_eq!(reference, None);
            assert_eq!(
                json::parse(text).ok().and_then(|v| v.as_f64()),
                Some(f64::INFINITY)
            );
        } else {
            let ours = json::parse(text).ok().as_ref().map(reference_of);
            assert_eq!(ours, reference, "{text}");
        }
    }
}
