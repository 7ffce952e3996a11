//! Our codec against prost's, on the same generated types (their prost derives apply under `cfg(test)`).
//!
//! Inputs are protobuf bytes built from the generated field table (`wire::MESSAGE_FIELDS`): every field
//! with values of its type, nested messages, repeated and duplicate fields in any order, unknown fields of
//! every wire type (groups too), out-of-range enum values, negative and over-wide integers, over-long
//! varints, invalid UTF-8, wrong wire types, truncation and corrupted bytes. For each input both codecs
//! must accept or both reject it; accepted inputs must decode to equal values, and those values must
//! encode to identical bytes.

use proptest::prelude::*;

use super::{WireError, decode, encode};
use crate::wire::MESSAGE_FIELDS;
use crate::{CommandType, GenericCommand};

/// A small deterministic generator, so one proptest seed describes a whole structured input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn fields_of(message: &str) -> &'static [(u32, &'static str, &'static str, &'static str)] {
    MESSAGE_FIELDS
        .iter()
        .find(|(name, _)| *name == message)
        .map(|(_, fields)| *fields)
        .expect("every nested message type is in the table")
}

fn put_varint(value: u64, out: &mut Vec<u8>) {
    super::encode_varint(value, out);
}

fn put_key(field: u32, wire_type: u8, out: &mut Vec<u8>) {
    put_varint(u64::from(field << 3 | u32::from(wire_type)), out);
}

/// A varint, sometimes over-long (padded with `0x80` bytes, which protobuf readers accept up to 10 bytes).
fn put_any_varint(value: u64, rng: &mut Rng, out: &mut Vec<u8>) {
    if rng.chance(5) && value < 1 << 50 {
        out.push((value as u8) | 0x80);
        put_varint(value >> 7, out);
    } else {
        put_varint(value, out);
    }
}

fn integer(rng: &mut Rng) -> u64 {
    match rng.below(8) {
        0 => 0,
        1 => 1,
        2 => rng.below(300),
        3 => -1i64 as u64,
        4 => i64::from(i32::MIN) as u64,
        5 => i32::MAX as u64 + rng.below(1 << 40),
        6 => i64::MIN as u64,
        _ => rng.next(),
    }
}

fn text(rng: &mut Rng, out: &mut Vec<u8>) {
    const PIECES: [&str; 6] = ["a", "Tom", "é", "汉", "🎉", "\"{}\\"];
    let len = rng.below(6);
    let mut value = Vec::new();
    for _ in 0..len {
        value.extend_from_slice(PIECES[rng.below(PIECES.len() as u64) as usize].as_bytes());
    }
    if rng.chance(2) {
        value.push(0xff); // not UTF-8
    }
    put_varint(value.len() as u64, out);
    out.extend_from_slice(&value);
}

fn unknown_field(rng: &mut Rng, known: &[(u32, &str, &str, &str)], group_depth: u32, out: &mut Vec<u8>) {
    let field = loop {
        let field = if rng.chance(80) {
            1 + rng.below(200) as u32
        } else {
            1 + rng.below((1 << 29) - 1) as u32
        };
        if !known.iter().any(|(tag, ..)| *tag == field) {
            break field;
        }
    };
    let wire_type = [0, 1, 2, 3, 5][rng.below(5) as usize];
    put_key(field, wire_type, out);
    match wire_type {
        0 => put_any_varint(integer(rng), rng, out),
        1 => out.extend_from_slice(&rng.next().to_le_bytes()),
        2 => text(rng, out),
        3 => {
            let inner = if group_depth < 3 { rng.below(4) } else { 0 };
            for _ in 0..inner {
                unknown_field(rng, &[], group_depth + 1, out);
            }
            // Rarely, close the group with another field number (an error for both codecs).
            let end = if rng.chance(3) { field + 1 } else { field };
            put_key(end, 4, out);
        }
        _ => out.extend_from_slice(&(rng.next() as u32).to_le_bytes()),
    }
}

/// Random fields of `message`, in random order, each with a value of its type most of the time.
fn message_bytes(message: &str, rng: &mut Rng, depth: u32, out: &mut Vec<u8>) {
    let fields = fields_of(message);
    let count = if depth == 0 {
        1 + rng.below(8)
    } else {
        rng.below(6)
    };
    for _ in 0..count {
        if rng.chance(8) {
            unknown_field(rng, fields, 0, out);
            continue;
        }
        let (tag, kind, _, nested) = fields[rng.below(fields.len() as u64) as usize];
        if rng.chance(2) {
            // The wrong wire type for the field.
            let wire_type = if kind == "string" || kind == "bytes" || kind == "message" {
                0
            } else {
                2
            };
            put_key(tag, wire_type, out);
            put_varint(rng.below(3), out);
            continue;
        }
        match kind {
            "int32" | "int64" | "enumeration" | "bool" => {
                put_key(tag, 0, out);
                let value = if kind == "enumeration" && rng.chance(50) {
                    rng.below(200)
                } else {
                    integer(rng)
                };
                put_any_varint(value, rng, out);
            }
            "string" => {
                put_key(tag, 2, out);
                text(rng, out);
            }
            "bytes" => {
                put_key(tag, 2, out);
                let len = rng.below(8);
                put_varint(len, out);
                out.extend((0..len).map(|_| rng.next() as u8));
            }
            "message" => {
                put_key(tag, 2, out);
                let mut body = Vec::new();
                if depth < 4 {
                    message_bytes(nested, rng, depth + 1, &mut body);
                }
                put_varint(body.len() as u64, out);
                out.extend_from_slice(&body);
            }
            other => panic!("no generator for {other}"),
        }
    }
}

/// A structured `GenericCommand` input, sometimes truncated or with a corrupted byte.
fn command_bytes(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut bytes = Vec::new();
    message_bytes("GenericCommand", &mut rng, 0, &mut bytes);
    if !bytes.is_empty() && rng.chance(10) {
        bytes.truncate(rng.below(bytes.len() as u64) as usize);
    }
    if !bytes.is_empty() && rng.chance(10) {
        let at = rng.below(bytes.len() as u64) as usize;
        bytes[at] = rng.next() as u8;
    }
    bytes
}

/// Decodes `bytes` with both codecs and checks they agree; returns the value if both accepted.
fn assert_same_as_prost(bytes: &[u8]) -> Option<GenericCommand> {
    let ours: Result<GenericCommand, WireError> = decode(bytes);
    let prost = <GenericCommand as prost::Message>::decode(bytes);
    match (ours, prost) {
        (Ok(ours), Ok(prost)) => {
            assert_eq!(ours, prost, "decoded values differ for {bytes:02x?}");
            let encoded = encode(&ours);
            assert_eq!(
                encoded,
                prost::Message::encode_to_vec(&prost),
                "encodings differ for {ours:?}"
            );
            assert_eq!(
                decode::<GenericCommand>(&encoded).as_ref(),
                Ok(&ours),
                "re-decoding"
            );
            Some(ours)
        }
        (Err(_), Err(_)) => None,
        (ours, prost) => panic!("codecs disagree on {bytes:02x?}: ours {ours:?}, prost {prost:?}"),
    }
}

/// Every field of `message` once (repeated fields twice), with non-default values, in tag order: the
/// canonical encoding of a value that has every field set, down to the deepest nested message.
fn every_field(message: &str, serial: &mut u64, out: &mut Vec<u8>) {
    for &(tag, kind, label, nested) in fields_of(message) {
        let times = if label == "repeated" { 2 } else { 1 };
        for _ in 0..times {
            *serial += 1;
            match kind {
                "int32" | "int64" | "enumeration" | "bool" => {
                    put_key(tag, 0, out);
                    put_varint(if kind == "bool" { 1 } else { *serial }, out);
                }
                "string" | "bytes" => {
                    let value = format!("value {serial}");
                    put_key(tag, 2, out);
                    put_varint(value.len() as u64, out);
                    out.extend_from_slice(value.as_bytes());
                }
                "message" => {
                    let mut body = Vec::new();
                    every_field(nested, serial, &mut body);
                    put_key(tag, 2, out);
                    put_varint(body.len() as u64, out);
                    out.extend_from_slice(&body);
                }
                other => panic!("no generator for {other}"),
            }
        }
    }
}

#[test]
fn every_field_of_every_message_decodes_and_encodes_like_prost() {
    let mut bytes = Vec::new();
    every_field("GenericCommand", &mut 0, &mut bytes);
    let command = assert_same_as_prost(&bytes).expect("a command with every field decodes");
    assert_eq!(
        encode(&command),
        bytes,
        "every field is written back in tag order"
    );
    // Every message type is reachable from GenericCommand, so the whole table was covered.
    let mut reachable = vec!["GenericCommand"];
    let mut index = 0;
    while let Some(message) = reachable.get(index).copied() {
        for &(_, _, _, nested) in fields_of(message) {
            if !nested.is_empty() && !reachable.contains(&nested) {
                reachable.push(nested);
            }
        }
        index += 1;
    }
    assert_eq!(reachable.len(), MESSAGE_FIELDS.len());
}

#[test]
fn every_prefix_of_a_full_command_is_judged_like_prost() {
    let mut bytes = Vec::new();
    every_field("GenericCommand", &mut 0, &mut bytes);
    for end in 0..bytes.len() {
        assert_same_as_prost(&bytes[..end]);
    }
}

#[test]
fn unknown_enum_values_and_negative_integers_survive_like_prost() {
    let command = GenericCommand {
        cmd: Some(999),
        op: Some(-5),
        i: Some(-1),
        server_ts: Some(i64::MIN),
        ..Default::default()
    };
    let bytes = encode(&command);
    assert_eq!(bytes, prost::Message::encode_to_vec(&command));
    let decoded = assert_same_as_prost(&bytes).expect("decodes");
    assert_eq!(decoded, command);
    assert_eq!(decoded.command_type(), None::<CommandType>);
}

#[test]
fn nested_unknown_groups_hit_the_same_recursion_limit_as_prost() {
    for depth in [1, 50, 98, 99, 100, 101, 150] {
        let mut bytes = Vec::new();
        for _ in 0..depth {
            put_key(1000, 3, &mut bytes);
        }
        put_key(1001, 0, &mut bytes);
        bytes.push(7);
        for _ in 0..depth {
            put_key(1000, 4, &mut bytes);
        }
        assert_same_as_prost(&bytes);
        // The same inside a nested message, one level deeper.
        let mut nested = Vec::new();
        put_key(104, 2, &mut nested);
        put_varint(bytes.len() as u64, &mut nested);
        nested.extend_from_slice(&bytes);
        assert_same_as_prost(&nested);
    }
}

#[test]
fn long_nested_messages_get_multi_byte_lengths_like_prost() {
    for len in [0, 1, 126, 127, 128, 129, 16_383, 16_384, 70_000] {
        let command = GenericCommand::new(CommandType::Direct).with(crate::DirectCommand {
            msg: Some("x".repeat(len)),
            ..Default::default()
        });
        let bytes = encode(&command);
        assert_eq!(
            bytes,
            prost::Message::encode_to_vec(&command),
            "body of {len} bytes"
        );
        assert_eq!(decode::<GenericCommand>(&bytes), Ok(command));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn structured_commands_decode_and_encode_like_prost(seed in any::<u64>()) {
        assert_same_as_prost(&command_bytes(seed));
    }

    #[test]
    fn arbitrary_bytes_are_judged_like_prost(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        assert_same_as_prost(&bytes);
    }
}
