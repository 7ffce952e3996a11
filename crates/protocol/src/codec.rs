//! The protobuf wire codec of the generated types: one reader loop and one writer, shared by every message.
//!
//! prost derives a full encoder and decoder per message type and inlines the nested ones into each other;
//! in the npm package that was a fifth of the wasm code. Here the wire handling is written once, without
//! generics: each generated type only maps field numbers to its struct fields ([`Message::merge_field`]) and
//! lists its fields in tag order ([`Message::encode_fields`]); `cargo xtask codegen` writes those impls.
//!
//! The output is byte-identical to prost's (fields in tag order, proto2 `optional` fields written when
//! present even if zero, `required` fields always written, no packed encoding), and decoding accepts and
//! rejects exactly what prost does: unknown fields (including groups) are skipped, enum fields keep unknown
//! values, a field with the wrong wire type, truncated or over-long input, invalid UTF-8 and prost's
//! recursion limit are errors. The tests (`codec/tests.rs`) check both against prost, whose derives the
//! generated types carry under `cfg(test)`.

#[cfg(test)]
mod tests;

/// Why bytes are not a valid protobuf message of the expected type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A varint longer than 10 bytes, overflowing 64 bits, or cut off by the end of the input.
    #[error("invalid varint")]
    InvalidVarint,
    /// A field key above `u32::MAX`, with field number 0, or with wire type 6 or 7.
    #[error("invalid field key")]
    InvalidKey,
    /// A length or fixed-width value running past the end of its message.
    #[error("buffer underflow")]
    BufferUnderflow,
    /// A known field sent with another wire type than its declared type uses.
    #[error("invalid wire type for field {0}")]
    WireTypeMismatch(u32),
    /// An end-group key without the matching start-group key.
    #[error("unexpected end group tag")]
    UnexpectedEndGroup,
    /// Groups nested deeper than prost's recursion limit (100).
    #[error("recursion limit reached")]
    RecursionLimit,
    /// A `string` field that is not UTF-8.
    #[error("invalid UTF-8 in a string field")]
    InvalidUtf8,
}

/// An enum field value that is not one of the enum's variants (the field keeps such values as `i32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown enum value {0}")]
pub struct UnknownEnumValue(pub i32);

/// prost's limit on nested messages and groups; deeper input is rejected the same way.
const RECURSION_LIMIT: u32 = 100;

/// One field value as read from the wire, before it is converted to the field's type.
#[derive(Clone, Copy, Debug)]
pub enum WireValue<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: strings, bytes and nested messages.
    LengthDelimited(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
    /// Wire type 3, already skipped up to its end-group key (no field of ours is a group).
    Group,
}

/// A generated message type: how its fields are read and written. Implemented in the generated code.
pub trait Message {
    /// Merges one field into `self`; `depth` is how many messages enclose `self`. Unknown fields are skipped.
    fn merge_field(&mut self, field: u32, value: WireValue<'_>, depth: u32) -> Result<(), WireError>;

    /// Writes every present field, in tag order.
    fn encode_fields(&self, writer: &mut Writer);
}

/// Decodes a whole message from `bytes`.
pub fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, WireError> {
    let mut message = M::default();
    merge(&mut message, bytes, 0)?;
    Ok(message)
}

/// Encodes a whole message.
pub fn encode(message: &dyn Message) -> Vec<u8> {
    let mut writer = Writer {
        bytes: Vec::with_capacity(128),
    };
    message.encode_fields(&mut writer);
    writer.bytes
}

/// Appends `value` as a base-128 varint.
pub fn encode_varint(mut value: u64, bytes: &mut Vec<u8>) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// The one reader loop: reads every field of `bytes` into `message`.
fn merge(message: &mut dyn Message, mut bytes: &[u8], depth: u32) -> Result<(), WireError> {
    while !bytes.is_empty() {
        let (field, wire_type) = read_key(&mut bytes)?;
        let value = match wire_type {
            0 => WireValue::Varint(read_varint(&mut bytes)?),
            1 => WireValue::Fixed64(u64::from_le_bytes(read_array(&mut bytes)?)),
            2 => WireValue::LengthDelimited(read_length_delimited(&mut bytes)?),
            3 => {
                skip_group(&mut bytes, field, depth + 1)?;
                WireValue::Group
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(read_array(&mut bytes)?)),
            _ => return Err(WireError::UnexpectedEndGroup),
        };
        message.merge_field(field, value, depth)?;
    }
    Ok(())
}

/// Reads a field key: the field number (≥ 1) and the wire type (0–5).
fn read_key(bytes: &mut &[u8]) -> Result<(u32, u8), WireError> {
    let key = read_varint(bytes)?;
    let key = u32::try_from(key).map_err(|_| WireError::InvalidKey)?;
    let wire_type = (key & 7) as u8;
    if wire_type > 5 || key >> 3 == 0 {
        return Err(WireError::InvalidKey);
    }
    Ok((key >> 3, wire_type))
}

/// Skips an unknown group up to its end-group key. `level` counts the messages and groups around the
/// group's fields, to reject what prost's recursion limit rejects.
fn skip_group(bytes: &mut &[u8], group_field: u32, level: u32) -> Result<(), WireError> {
    loop {
        let (field, wire_type) = read_key(bytes)?;
        if wire_type == 4 {
            return if field == group_field {
                Ok(())
            } else {
                Err(WireError::UnexpectedEndGroup)
            };
        }
        if level >= RECURSION_LIMIT {
            return Err(WireError::RecursionLimit);
        }
        match wire_type {
            0 => drop(read_varint(bytes)?),
            1 => drop(read_array::<8>(bytes)?),
            2 => drop(read_length_delimited(bytes)?),
            3 => skip_group(bytes, field, level + 1)?,
            _ => drop(read_array::<4>(bytes)?),
        }
    }
}

fn read_varint(bytes: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for (index, &byte) in bytes.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (index * 7);
        if byte < 0x80 {
            // The 10th byte holds only the top bit of a u64.
            if index == 9 && byte > 1 {
                return Err(WireError::InvalidVarint);
            }
            *bytes = &bytes[index + 1..];
            return Ok(value);
        }
    }
    Err(WireError::InvalidVarint)
}

fn read_array<const N: usize>(bytes: &mut &[u8]) -> Result<[u8; N], WireError> {
    let (head, rest) = bytes.split_first_chunk::<N>().ok_or(WireError::BufferUnderflow)?;
    *bytes = rest;
    Ok(*head)
}

fn read_length_delimited<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], WireError> {
    let len = read_varint(bytes)?;
    if len > bytes.len() as u64 {
        return Err(WireError::BufferUnderflow);
    }
    let (value, rest) = bytes.split_at(len as usize);
    *bytes = rest;
    Ok(value)
}

/// Conversions from a [`WireValue`] to the field types, used by the generated `merge_field`s.
pub mod decode {
    use super::{Message, RECURSION_LIMIT, WireError, WireValue};

    fn varint(field: u32, value: WireValue<'_>) -> Result<u64, WireError> {
        match value {
            WireValue::Varint(value) => Ok(value),
            _ => Err(WireError::WireTypeMismatch(field)),
        }
    }

    fn length_delimited(field: u32, value: WireValue<'_>) -> Result<&[u8], WireError> {
        match value {
            WireValue::LengthDelimited(bytes) => Ok(bytes),
            _ => Err(WireError::WireTypeMismatch(field)),
        }
    }

    /// An `int32` or enum field (a negative value is sent as a 10-byte varint; the low 32 bits count).
    pub fn int32(field: u32, value: WireValue<'_>) -> Result<i32, WireError> {
        varint(field, value).map(|value| value as i32)
    }

    /// An `int64` field.
    pub fn int64(field: u32, value: WireValue<'_>) -> Result<i64, WireError> {
        varint(field, value).map(|value| value as i64)
    }

    /// A `bool` field: any non-zero varint is true.
    pub fn bool(field: u32, value: WireValue<'_>) -> Result<bool, WireError> {
        varint(field, value).map(|value| value != 0)
    }

    /// A `string` field.
    pub fn string(field: u32, value: WireValue<'_>) -> Result<String, WireError> {
        let bytes = length_delimited(field, value)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| WireError::InvalidUtf8)
    }

    /// A `bytes` field.
    pub fn bytes(field: u32, value: WireValue<'_>) -> Result<Vec<u8>, WireError> {
        length_delimited(field, value).map(<[u8]>::to_vec)
    }

    /// Merges a nested message field into `message` (a second occurrence merges into the first, as in prost).
    pub fn message(
        field: u32,
        value: WireValue<'_>,
        message: &mut dyn Message,
        depth: u32,
    ) -> Result<(), WireError> {
        let bytes = length_delimited(field, value)?;
        if depth >= RECURSION_LIMIT {
            return Err(WireError::RecursionLimit);
        }
        super::merge(message, bytes, depth + 1)
    }

    /// One element of a repeated message field.
    pub fn new_message<M: Message + Default>(
        field: u32,
        value: WireValue<'_>,
        depth: u32,
    ) -> Result<M, WireError> {
        let mut element = M::default();
        message(field, value, &mut element, depth)?;
        Ok(element)
    }
}

/// The one writer: appends fields to a growing buffer.
#[derive(Debug)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn key(&mut self, field: u32, wire_type: u8) {
        encode_varint(u64::from(field << 3 | u32::from(wire_type)), &mut self.bytes);
    }

    fn varint_field(&mut self, field: u32, value: u64) {
        self.key(field, 0);
        encode_varint(value, &mut self.bytes);
    }

    fn bytes_field(&mut self, field: u32, value: &[u8]) {
        self.key(field, 2);
        encode_varint(value.len() as u64, &mut self.bytes);
        self.bytes.extend_from_slice(value);
    }

    /// An `int32` or enum field (negative values take 10 bytes, as protobuf requires).
    pub fn int32(&mut self, field: u32, value: i32) {
        self.varint_field(field, i64::from(value) as u64);
    }

    /// An optional `int32` or enum field.
    pub fn opt_int32(&mut self, field: u32, value: Option<i32>) {
        if let Some(value) = value {
            self.int32(field, value);
        }
    }

    /// An optional `int64` field.
    pub fn opt_int64(&mut self, field: u32, value: Option<i64>) {
        if let Some(value) = value {
            self.varint_field(field, value as u64);
        }
    }

    /// An optional `bool` field.
    pub fn opt_bool(&mut self, field: u32, value: Option<bool>) {
        if let Some(value) = value {
            self.varint_field(field, u64::from(value));
        }
    }

    /// A `string` field.
    pub fn string(&mut self, field: u32, value: &str) {
        self.bytes_field(field, value.as_bytes());
    }

    /// An optional `string` field.
    pub fn opt_string(&mut self, field: u32, value: Option<&str>) {
        if let Some(value) = value {
            self.string(field, value);
        }
    }

    /// A repeated `string` field: one key and value per element.
    pub fn strings(&mut self, field: u32, values: &[String]) {
        for value in values {
            self.string(field, value);
        }
    }

    /// An optional `bytes` field.
    pub fn opt_bytes(&mut self, field: u32, value: Option<&[u8]>) {
        if let Some(value) = value {
            self.bytes_field(field, value);
        }
    }

    /// A nested message. Its length is not known before it is written: one byte is reserved for it and,
    /// for a message of 128 bytes or more, the body is moved up to make room for the longer varint.
    pub fn message(&mut self, field: u32, message: &dyn Message) {
        self.key(field, 2);
        let length_at = self.bytes.len();
        self.bytes.push(0);
        let body_at = self.bytes.len();
        message.encode_fields(self);
        let len = self.bytes.len() - body_at;
        if len < 0x80 {
            self.bytes[length_at] = len as u8;
        } else {
            let mut prefix = [0u8; 10];
            let mut prefix_len = 0;
            let mut rest = len;
            while rest >= 0x80 {
                prefix[prefix_len] = (rest as u8) | 0x80;
                rest >>= 7;
                prefix_len += 1;
            }
            prefix[prefix_len] = rest as u8;
            self.bytes
                .splice(length_at..body_at, prefix[..=prefix_len].iter().copied());
        }
    }

    /// An optional nested message.
    pub fn opt_message(&mut self, field: u32, message: Option<&dyn Message>) {
        if let Some(message) = message {
            self.message(field, message);
        }
    }
}
