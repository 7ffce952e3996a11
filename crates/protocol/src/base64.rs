//! Standard base64 (RFC 4648 §4: `A–Z a–z 0–9 + /`, `=` padding), as the `lc.proto2base64.*` text
//! frames and the `data` field of binary messages carry it.
//!
//! Why not the `base64` crate: its general-purpose engine (configurable alphabets and padding modes,
//! unrolled loops) was about 4.7 KB of the npm package's wasm code, for the one fixed alphabet used
//! here. This module is one short loop each way. It behaves byte for byte like the crate's
//! `base64::engine::general_purpose::STANDARD`, which stays as the reference in this crate's tests:
//! the same output, and the same inputs accepted — only canonical base64, so missing or extra padding,
//! any byte outside the alphabet (whitespace included) and non-zero unused bits in the last symbol are
//! refused.

/// The 64 symbols, by value.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Why text is not standard base64. Offsets count bytes from the start of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Base64Error {
    /// A byte that is neither a symbol of the alphabet nor padding at the end.
    #[error("invalid base64 byte {byte:#04x} at offset {offset}")]
    InvalidByte {
        /// Where the byte is.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A length that is not a multiple of 4: padding missing or extra, or text cut short.
    #[error("base64 length {0} is not a multiple of 4 (padding missing or text cut short)")]
    InvalidLength(usize),
    /// A last symbol whose bits beyond the encoded bytes are not zero (a non-canonical encoding).
    #[error("base64 symbol at offset {0} has non-zero trailing bits")]
    TrailingBits(usize),
}

/// Encodes bytes as standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        // The chunk's 1–3 bytes as the high bytes of 24 bits, missing bytes zero.
        let group = chunk.iter().enumerate().fold(0u32, |group, (i, &byte)| {
            group | (u32::from(byte) << (16 - 8 * i))
        });
        // n bytes take n + 1 symbols; the rest of the 4 are padding.
        for i in 0..4 {
            text.push(if i <= chunk.len() {
                char::from(ALPHABET[((group >> (18 - 6 * i)) & 63) as usize])
            } else {
                '='
            });
        }
    }
    text
}

/// Decodes standard base64 with padding; see the module doc for what is refused.
pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    let text = text.as_bytes();
    // Up to two `=` end the text; any other `=` is an invalid byte below.
    let padding = match text {
        [.., b'=', b'='] => 2,
        [.., b'='] => 1,
        _ => 0,
    };
    let symbols = &text[..text.len() - padding];
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3);
    // Bits read but not yet written out: at most 6 + 6 of them, the newest in the low bits.
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    for (offset, &byte) in symbols.iter().enumerate() {
        let value = symbol_value(byte).ok_or(Base64Error::InvalidByte { offset, byte })?;
        bits = ((bits << 6) | value) & 0xfff;
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            bytes.push((bits >> bit_count) as u8);
        }
    }
    if text.len() % 4 != 0 {
        return Err(Base64Error::InvalidLength(text.len()));
    }
    // With a multiple of 4 and at most two `=`, 0, 2 or 4 bits are left over; they must be zero.
    if bits & ((1 << bit_count) - 1) != 0 {
        return Err(Base64Error::TrailingBits(symbols.len() - 1));
    }
    Ok(bytes)
}

/// The value of one symbol of the alphabet, `None` for any other byte.
fn symbol_value(byte: u8) -> Option<u32> {
    let value = match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}
