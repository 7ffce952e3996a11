//! The protocol's own base64 against the `base64` crate's `STANDARD` engine, the reference: identical
//! output for any bytes, and for any text the same outcome (the same bytes, or an error from both).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chinwag_protocol::base64::{Base64Error, decode, encode};
use proptest::collection::vec;
use proptest::prelude::*;

/// Checks that our decoder and the reference agree on `text`: equal bytes, or both refuse it.
fn assert_same_decoding(text: &str) {
    let ours = decode(text);
    let reference = STANDARD.decode(text);
    match (&ours, &reference) {
        (Ok(ours), Ok(reference)) => assert_eq!(ours, reference, "decoding {text:?}"),
        (Err(_), Err(_)) => {}
        _ => panic!("decoding {text:?}: ours {ours:?}, reference {reference:?}"),
    }
}

/// Text from the base64 alphabet, padding and a few bytes that are neither, up to a few quads long.
fn base64ish_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/=]{0,16}|[A-Za-z0-9+/= \n\r\t_\\-.é]{0,16}|[AQgw=]{0,9}"
}

/// Valid base64 of random bytes, then one symbol replaced (`position` modulo the length): mostly
/// non-canonical trailing bits when it is the last symbol, misplaced padding when `=`.
fn base64_with_one_symbol_changed() -> impl Strategy<Value = String> {
    (vec(any::<u8>(), 1..12), any::<usize>(), "[A-Za-z0-9+/=]").prop_map(|(bytes, position, symbol)| {
        let mut text = STANDARD.encode(bytes).into_bytes();
        let position = position % text.len();
        text[position] = symbol.as_bytes()[0];
        String::from_utf8(text).expect("ASCII")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn encode_matches_the_base64_crate(bytes in vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(encode(&bytes), STANDARD.encode(&bytes));
    }

    #[test]
    fn decode_round_trips_what_the_base64_crate_encodes(bytes in vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(decode(&STANDARD.encode(&bytes)), Ok(bytes));
    }

    #[test]
    fn decode_matches_the_base64_crate_on_alphabet_padding_and_junk(text in base64ish_text()) {
        assert_same_decoding(&text);
    }

    #[test]
    fn decode_matches_the_base64_crate_with_one_symbol_changed(text in base64_with_one_symbol_changed()) {
        assert_same_decoding(&text);
    }

    #[test]
    fn decode_matches_the_base64_crate_on_any_string(text in any::<String>()) {
        assert_same_decoding(&text);
    }
}

#[test]
fn edge_cases_decode_like_the_base64_crate() {
    let cases = [
        "",
        "=",
        "==",
        "===",
        "====",
        "A",
        "AA",
        "AAA",
        "AAAA",
        "AA=",
        "AA==",
        "AAA=",
        "A===",
        "AA=A",
        "A=AA",
        "=AAA",
        "AA==AAAA",
        "AAAA====",
        "AAAAAA==",
        "AAAAA",
        "AAAAA===",
        "AAAAAA=",
        "AAAAAAA=",
        "AAAA=",
        "AB==",
        "AQ==",
        "AAB=",
        "AAE=",
        "/w==",
        "/x==",
        "//8=",
        "//9=",
        "////",
        "+/+/",
        "Zm9vYmFy",
        "Zm9vYg==",
        "Zm9vYmE=",
        " Zm9v",
        "Zm9v ",
        "Zm9v\n",
        "Zm\n9v",
        "Zm9v\r\n",
        "Zm9v-_",
        "Zm9v_w==",
        "Zm9v\0",
        "Zm9vé",
        "\u{ff}AAA",
    ];
    for text in cases {
        assert_same_decoding(text);
    }
}

#[test]
fn known_vectors_of_rfc_4648() {
    for (bytes, text) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(encode(bytes.as_bytes()), text);
        assert_eq!(decode(text).as_deref(), Ok(bytes.as_bytes()));
    }
}

#[test]
fn errors_say_where_and_why() {
    assert_eq!(
        decode("Zm9v!A=="),
        Err(Base64Error::InvalidByte {
            offset: 4,
            byte: b'!'
        })
    );
    assert_eq!(
        decode("Zm=v"),
        Err(Base64Error::InvalidByte {
            offset: 2,
            byte: b'='
        })
    );
    assert_eq!(decode("Zm9vYg"), Err(Base64Error::InvalidLength(6)));
    assert_eq!(decode("Zm9vYh=="), Err(Base64Error::TrailingBits(5)));
    assert_eq!(
        Base64Error::InvalidByte {
            offset: 4,
            byte: b'!'
        }
        .to_string(),
        "invalid base64 byte 0x21 at offset 4"
    );
    assert_eq!(
        Base64Error::InvalidLength(6).to_string(),
        "base64 length 6 is not a multiple of 4 (padding missing or text cut short)"
    );
    assert_eq!(
        Base64Error::TrailingBits(5).to_string(),
        "base64 symbol at offset 5 has non-zero trailing bits"
    );
}

#[test]
fn every_byte_value_round_trips_in_every_position_of_a_group() {
    for byte in 0..=u8::MAX {
        for len in 1..=3 {
            let mut bytes = vec![0u8; len];
            bytes[len - 1] = byte;
            let text = encode(&bytes);
            assert_eq!(text, STANDARD.encode(&bytes));
            assert_eq!(decode(&text), Ok(bytes));
        }
    }
}
