//! The protobuf wire codec of the generated types: one reader loop and one writer, shared by every message.
//!
//! prost derives a full encoder and decoder per message type and inlines the nested ones into each other;
//! in the npm package that was a fifth of the wasm code. Here the wire handling is written once, without
//! generics: each generated type only maps field numbers to its struct fields ([`Message::field`]) and
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

/// Where a field number of a message is stored: what [`Message::field`] answers, so the one reader loop
/// can check the wire type, read the value and store it without any per-type code.
#[allow(missing_debug_implementations)] // a transient borrow; nested messages are `dyn Message`
pub enum Field<'a> {
    /// A field number the message does not declare: skipped, as prost does.
    Unknown,
    /// A `required int32`.
    Int32(&'a mut i32),
    /// An `optional int32` or enum (enums keep unknown values, as prost does).
    OptInt32(&'a mut Option<i32>),
    /// An `optional int64`.
    OptInt64(&'a mut Option<i64>),
    /// An `optional bool`.
    OptBool(&'a mut Option<bool>),
    /// A `required string`.
    String(&'a mut String),
    /// An `optional string`.
    OptString(&'a mut Option<String>),
    /// A `repeated string`.
    Strings(&'a mut Vec<String>),
    /// An `optional bytes`.
    OptBytes(&'a mut Option<Vec<u8>>),
    /// A nested message to merge into: the present one for an `optional` field (a second occurrence
    /// merges into the first, as in prost), a new last element for a `repeated` one.
    Message(&'a mut dyn Message),
}

/// A generated message type: where its fields live and how they are written. The generated code
/// implements it with one match arm and one writer call per field.
pub trait Message {
    /// Where field `number` is stored.
    fn field(&mut self, number: u32) -> Field<'_>;

    /// Writes every present field, in tag order.
    fn encode_fields(&self, writer: &mut Writer);
}

/// The present value of an optional nested message, made default first if absent. Used by the generated
/// [`Message::field`]s.
pub fn present<M: Message + Default>(slot: &mut Option<M>) -> &mut dyn Message {
    slot.get_or_insert_with(M::default)
}

/// The present value of a boxed optional nested message (`GenericCommand`'s sub-commands), allocated
/// default first if absent. Used by the generated [`Message::field`]s.
pub fn present_boxed<M: Message + Default>(slot: &mut Option<Box<M>>) -> &mut dyn Message {
    &mut **slot.get_or_insert_with(Box::default)
}

/// A new default last element of a repeated nested message. Used by the generated [`Message::field`]s.
pub fn push_default<M: Message + Default>(elements: &mut Vec<M>) -> &mut dyn Message {
    elements.push(M::default());
    let last = elements.len() - 1;
    &mut elements[last]
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
        // Most commands fit; prost sizes the buffer exactly, which needs a length pass we do without.
        bytes: Vec::with_capacity(256),
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

/// `value` as a base-128 varint: the bytes and how many of them are used.
fn varint_bytes(mut value: u64) -> ([u8; 10], usize) {
    let mut varint = [0; 10];
    let mut len = 0;
    while value >= 0x80 {
        varint[len] = (value as u8) | 0x80;
        value >>= 7;
        len += 1;
    }
    varint[len] = value as u8;
    (varint, len + 1)
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;
const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;
const FIXED32: u8 = 5;

/// The one reader loop: reads every field of `bytes` into `message`, which `depth` messages enclose.
fn merge(message: &mut dyn Message, mut bytes: &[u8], depth: u32) -> Result<(), WireError> {
    while !bytes.is_empty() {
        let (number, wire_type) = read_key(&mut bytes)?;
        let field = message.field(number);
        let expected = match field {
            Field::Unknown => {
                skip_field(&mut bytes, number, wire_type, depth)?;
                continue;
            }
            Field::Int32(_) | Field::OptInt32(_) | Field::OptInt64(_) | Field::OptBool(_) => VARINT,
            _ => LENGTH_DELIMITED,
        };
        if wire_type != expected {
            return Err(WireError::WireTypeMismatch(number));
        }
        if expected == VARINT {
            let value = read_varint(&mut bytes)?;
            match field {
                // The low 32 bits count: a negative int32 is sent sign-extended to 10 bytes.
                Field::Int32(slot) => *slot = value as i32,
                Field::OptInt32(slot) => *slot = Some(value as i32),
                Field::OptInt64(slot) => *slot = Some(value as i64),
                Field::OptBool(slot) => *slot = Some(value != 0),
                _ => {}
            }
            continue;
        }
        let value = read_length_delimited(&mut bytes)?;
        match field {
            Field::String(slot) => *slot = utf8(value)?,
            Field::OptString(slot) => *slot = Some(utf8(value)?),
            Field::Strings(slot) => slot.push(utf8(value)?),
            Field::OptBytes(slot) => *slot = Some(value.to_vec()),
            Field::Message(nested) => {
                if depth >= RECURSION_LIMIT {
                    return Err(WireError::RecursionLimit);
                }
                merge(nested, value, depth + 1)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn utf8(bytes: &[u8]) -> Result<String, WireError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| WireError::InvalidUtf8)
}

/// Reads a field key: the field number (≥ 1) and the wire type (0–5).
fn read_key(bytes: &mut &[u8]) -> Result<(u32, u8), WireError> {
    let key = read_varint(bytes)?;
    let key = u32::try_from(key).map_err(|_| WireError::InvalidKey)?;
    let wire_type = (key & 7) as u8;
    if wire_type > FIXED32 || key >> 3 == 0 {
        return Err(WireError::InvalidKey);
    }
    Ok((key >> 3, wire_type))
}

/// Skips the value of an unknown field. `level` counts the messages and groups around it, to reject what
/// prost's recursion limit rejects.
fn skip_field(bytes: &mut &[u8], number: u32, wire_type: u8, level: u32) -> Result<(), WireError> {
    if level >= RECURSION_LIMIT {
        return Err(WireError::RecursionLimit);
    }
    match wire_type {
        VARINT => drop(read_varint(bytes)?),
        FIXED64 => drop(read_array::<8>(bytes)?),
        LENGTH_DELIMITED => drop(read_length_delimited(bytes)?),
        START_GROUP => loop {
            let (inner, inner_wire_type) = read_key(bytes)?;
            if inner_wire_type == END_GROUP {
                if inner != number {
                    return Err(WireError::UnexpectedEndGroup);
                }
                break;
            }
            skip_field(bytes, inner, inner_wire_type, level + 1)?;
        },
        END_GROUP => return Err(WireError::UnexpectedEndGroup),
        _ => drop(read_array::<4>(bytes)?),
    }
    Ok(())
}

fn read_varint(bytes: &mut &[u8]) -> Result<u64, WireError> {
    // Keys and short lengths are one byte.
    if let Some((&byte, rest)) = bytes.split_first()
        && byte < 0x80
    {
        *bytes = rest;
        return Ok(u64::from(byte));
    }
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
    pub fn opt_int32(&mut self, field: u32, value: &Option<i32>) {
        if let Some(value) = *value {
            self.int32(field, value);
        }
    }

    /// An optional `int64` field.
    pub fn opt_int64(&mut self, field: u32, value: &Option<i64>) {
        if let Some(value) = *value {
            self.varint_field(field, value as u64);
        }
    }

    /// An optional `bool` field.
    pub fn opt_bool(&mut self, field: u32, value: &Option<bool>) {
        if let Some(value) = *value {
            self.varint_field(field, u64::from(value));
        }
    }

    /// A `string` field.
    pub fn string(&mut self, field: u32, value: &str) {
        self.bytes_field(field, value.as_bytes());
    }

    /// An optional `string` field.
    pub fn opt_string(&mut self, field: u32, value: &Option<String>) {
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
    pub fn opt_bytes(&mut self, field: u32, value: &Option<Vec<u8>>) {
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
            let (prefix, prefix_len) = varint_bytes(len as u64);
            let prefix = &prefix[..prefix_len];
            let shift = prefix_len - 1;
            self.bytes.resize(self.bytes.len() + shift, 0);
            self.bytes.copy_within(body_at..body_at + len, body_at + shift);
            self.bytes[length_at..body_at + shift].copy_from_slice(prefix);
        }
    }

    /// An optional nested message.
    pub fn opt_message<M: Message>(&mut self, field: u32, message: &Option<M>) {
        if let Some(message) = message {
            self.message(field, message);
        }
    }

    /// An optional boxed nested message.
    pub fn opt_boxed_message<M: Message>(&mut self, field: u32, message: &Option<Box<M>>) {
        if let Some(message) = message {
            self.message(field, &**message);
        }
    }

    /// A repeated nested message.
    pub fn messages<M: Message>(&mut self, field: u32, messages: &[M]) {
        for message in messages {
            self.message(field, message);
        }
    }
}
