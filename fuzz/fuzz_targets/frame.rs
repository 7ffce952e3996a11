//! Any bytes or text as a WebSocket message: decoding never panics, and whatever decodes re-encodes to a
//! command that decodes to itself, with stable bytes.
#![no_main]

use chinwag_protocol::frame::{decode_binary, decode_text, encode_binary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(command) = decode_binary(data) {
        let bytes = encode_binary(&command);
        let again = decode_binary(&bytes).expect("a re-encoded command decodes");
        assert_eq!(again, command, "decode(encode(c)) == c");
        assert_eq!(encode_binary(&again), bytes, "encoding is stable");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = decode_text(text);
    }
});
