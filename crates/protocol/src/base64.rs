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
    let mut text = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    let symbol = |group: u32, shift: u32| ALPHABET[((group >> shift) & 63) as usize];
    let mut groups = bytes.chunks_exact(3);
    for group in groups.by_ref() {
        let bits = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        text.extend_from_slice(&[
            symbol(bits, 18),
            symbol(bits, 12),
            symbol(bits, 6),
            symbol(bits, 0),
        ]);
    }
    match *groups.remainder() {
        [a] => {
            let bits = u32::from(a) << 16;
            text.extend_from_slice(&[symbol(bits, 18), symbol(bits, 12), b'=', b'=']);
        }
        [a, b] => {
            let bits = u32::from(a) << 16 | u32::from(b) << 8;
            text.extend_from_slice(&[symbol(bits, 18), symbol(bits, 12), symbol(bits, 6), b'=']);
        }
        _ => {}
    }
    // Every byte pushed is an ASCII symbol of the alphabet or `=`.
    String::from_utf8(text).unwrap_or_default()
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
    // Whole groups of four symbols first, three bytes each (the hot path of text frames), then the
    // last two or three symbols before the padding bit by bit.
    let mut groups = symbols.chunks_exact(4);
    for (index, group) in groups.by_ref().enumerate() {
        let mut bits = 0;
        for (at, &byte) in group.iter().enumerate() {
            let offset = index * 4 + at;
            bits = (bits << 6) | symbol_value(byte).ok_or(Base64Error::InvalidByte { offset, byte })?;
        }
        // Truncation picks each byte of the 24-bit group.
        #[allow(clippy::cast_possible_truncation)]
        bytes.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8, bits as u8]);
    }
    let tail = groups.remainder();
    let tail_start = symbols.len() - tail.len();
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    for (at, &byte) in tail.iter().enumerate() {
        let offset = tail_start + at;
        let value = symbol_value(byte).ok_or(Base64Error::InvalidByte { offset, byte })?;
        bits = ((bits << 6) | value) & 0xfff;
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            // Truncation keeps the byte just completed.
            #[allow(clippy::cast_possible_truncation)]
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

/// Each byte's value as a symbol of the alphabet; `INVALID` for any other byte. A table rather than a
/// `match` on the ranges: 256 bytes of data (about 50 B gzip more), and text frames decode twice as fast.
const SYMBOL_VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut index = 0;
    while index < ALPHABET.len() {
        // The alphabet has 64 symbols: `index` fits a byte.
        #[allow(clippy::cast_possible_truncation)]
        let value = index as u8;
        table[ALPHABET[index] as usize] = value;
        index += 1;
    }
    table
};

/// Not a symbol.
const INVALID: u8 = 0xff;

/// The value of one symbol of the alphabet, `None` for any other byte.
fn symbol_value(byte: u8) -> Option<u32> {
    let value = SYMBOL_VALUES[usize::from(byte)];
    (value != INVALID).then_some(u32::from(value))
}
