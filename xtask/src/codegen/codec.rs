//! Turns prost-build's output into the checked-in types of `chinwag-protocol`, with our own wire codec.
//!
//! prost-build writes the structs and enums (names, field types, docs) and is kept for that; its
//! `#[derive(::prost::Message)]` and `::prost::Enumeration` are moved under `cfg(test)`, where they serve as
//! the reference the protocol crate's tests compare our codec with, so prost is not linked into the
//! library. In their place this module writes, for every message, a `chinwag_protocol::codec::Message`
//! impl (one match arm per field saying where it is stored, one writer call per field to encode), plus
//! the `Debug`, `Default`, enum conversions and field getters that the prost derives provided.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};

/// One field of a message, as prost-build declared it.
struct Field {
    /// The Rust field name (`peer_id`, `r#type`).
    name: String,
    /// prost's scalar kind: `string`, `bytes`, `int32`, `int64`, `bool`, `enumeration` or `message`.
    kind: String,
    /// For enumerations: the enum's Rust path (`CommandType`, `logs_command::QueryDirection`).
    enum_path: Option<String>,
    /// `optional`, `required` or `repeated`.
    label: String,
    tag: u32,
    /// The proto `[default = ...]`, as prost writes it (an enum variant name for enums).
    default: Option<String>,
    /// The Rust type of the field as written.
    ty: String,
    /// A message field stored as `Option<Box<T>>` (prost-build's `boxed`).
    boxed: bool,
}

struct MessageType {
    name: String,
    fields: Vec<Field>,
}

struct EnumType {
    /// The Rust path (`CommandType`, `logs_command::QueryDirection`).
    path: String,
    /// Variants in declaration order, with their values.
    variants: Vec<(String, i32)>,
}

/// Each message's name and the numbers of its fields.
pub(crate) type FieldNumbers = Vec<(String, Vec<u32>)>;

/// Rewrites prost-build's output (see the module docs) and appends the codec impls; also returns the
/// fields it found, for [`check_against_descriptors`].
pub(crate) fn transform(prost_output: &str) -> Result<(String, FieldNumbers)> {
    let mut out = String::new();
    let mut messages: Vec<MessageType> = Vec::new();
    let mut enums: Vec<EnumType> = Vec::new();
    let mut module: Option<String> = None;
    let mut current_enum: Option<EnumType> = None;
    let mut pending_field: Option<Field> = None;
    let mut lines = prost_output.lines();
    while let Some(line) = lines.next() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let trimmed = line.trim();
        // Multi-line attributes are joined into one line first.
        let mut attribute = None;
        for opener in ["#[derive(", "#[prost("] {
            if let Some(rest) = trimmed.strip_prefix(opener) {
                let mut body = rest.to_owned();
                while !body.ends_with(")]") {
                    let next = lines.next().context("unterminated attribute")?.trim();
                    if !body.ends_with('(') && !body.is_empty() {
                        body.push(' ');
                    }
                    body.push_str(next);
                }
                body.truncate(body.len() - 2);
                let items: Vec<String> = body
                    .split(',')
                    .map(|item| item.trim().to_owned())
                    .filter(|item| !item.is_empty())
                    .collect();
                attribute = Some((opener, items));
            }
        }
        match attribute {
            Some(("#[derive(", items)) => {
                let plain: Vec<&str> = items
                    .iter()
                    .map(String::as_str)
                    .filter(|item| !item.starts_with("::prost::"))
                    .collect();
                writeln!(out, "{indent}#[derive({})]", plain.join(", "))?;
                if items.iter().any(|item| item == "::prost::Message") {
                    writeln!(out, "{indent}#[cfg_attr(not(test), derive(Debug))]")?;
                    writeln!(out, "{indent}#[cfg_attr(test, derive(::prost::Message))]")?;
                } else if items.iter().any(|item| item == "::prost::Enumeration") {
                    writeln!(out, "{indent}#[cfg_attr(test, derive(::prost::Enumeration))]")?;
                }
                continue;
            }
            Some((_, items)) => {
                writeln!(out, "{indent}#[cfg_attr(test, prost({}))]", items.join(", "))?;
                pending_field = Some(parse_field_attribute(&items, module.as_deref())?);
                continue;
            }
            None => {}
        }
        let line = line.replace("::prost::alloc::", "::std::");
        writeln!(out, "{line}")?;
        if let Some(mut field) = pending_field.take() {
            // rustfmt breaks a long declaration after the colon or inside the generics.
            let mut declaration = trimmed.to_owned();
            while !declaration.ends_with(',')
                || declaration.matches('<').count() > declaration.matches('>').count()
            {
                let type_line = lines.next().context("a field type follows its name")?;
                writeln!(out, "{}", type_line.replace("::prost::alloc::", "::std::"))?;
                if declaration.ends_with(':') {
                    declaration.push(' ');
                }
                declaration.push_str(type_line.trim());
            }
            let declaration = declaration.replace(",>", ">");
            let declaration = declaration
                .strip_prefix("pub ")
                .and_then(|rest| rest.strip_suffix(','))
                .with_context(|| format!("a field declaration follows #[prost(...)], not {trimmed}"))?;
            let (name, ty) = declaration
                .split_once(": ")
                .context("field declaration has a type")?;
            field.name = name.to_owned();
            field.ty = ty.replace("::prost::alloc::", "::std::");
            messages
                .last_mut()
                .context("a field outside a struct")?
                .fields
                .push(field);
        } else if let Some(name) = trimmed
            .strip_prefix("pub struct ")
            .and_then(|rest| rest.strip_suffix(" {"))
        {
            if module.is_some() {
                bail!("nested message types are not supported by the codec generator: {name}");
            }
            messages.push(MessageType {
                name: name.to_owned(),
                fields: Vec::new(),
            });
        } else if let Some(name) = trimmed
            .strip_prefix("pub mod ")
            .and_then(|rest| rest.strip_suffix(" {"))
        {
            module = Some(name.to_owned());
        } else if let Some(name) = trimmed
            .strip_prefix("pub enum ")
            .and_then(|rest| rest.strip_suffix(" {"))
        {
            let path = match &module {
                Some(module) => format!("{module}::{name}"),
                None => name.to_owned(),
            };
            current_enum = Some(EnumType {
                path,
                variants: Vec::new(),
            });
        } else if let Some(enum_type) = current_enum.as_mut() {
            if trimmed == "}" {
                enums.extend(current_enum.take());
            } else if let Some((variant, value)) = trimmed
                .strip_suffix(',')
                .and_then(|variant| variant.split_once(" = "))
            {
                enum_type
                    .variants
                    .push((variant.to_owned(), value.parse().context("enum value")?));
            }
        } else if trimmed == "}" && indent.is_empty() {
            module = None;
        }
    }
    out.push_str(
        "\n// ---- The wire codec (chinwag_protocol::codec), generated by `cargo xtask codegen` from the types above. ----\n",
    );
    for message in &mut messages {
        message.fields.sort_by_key(|field| field.tag);
        write_message_impls(&mut out, message, &enums)?;
    }
    for enum_type in &enums {
        write_enum_impls(&mut out, enum_type)?;
    }
    write_schema(&mut out, &messages)?;
    write_empty_test(&mut out, &messages)?;
    let fields = messages
        .iter()
        .map(|message| {
            (
                message.name.clone(),
                message.fields.iter().map(|field| field.tag).collect(),
            )
        })
        .collect();
    Ok((out, fields))
}

/// A test that every message's `EMPTY` equals prost's derived `Default` (which tests build with).
fn write_empty_test(out: &mut String, messages: &[MessageType]) -> Result<()> {
    writeln!(out, "#[cfg(test)]")?;
    writeln!(out, "#[test]")?;
    writeln!(out, "fn every_empty_message_is_prosts_default() {{")?;
    for message in messages {
        let name = &message.name;
        writeln!(
            out,
            "    assert_eq!({name}::EMPTY, <{name} as ::core::default::Default>::default());"
        )?;
    }
    writeln!(out, "}}")?;
    Ok(())
}

/// The field table the codec tests generate their input from (for each message: tag, kind, label and the
/// message type of nested message fields).
fn write_schema(out: &mut String, messages: &[MessageType]) -> Result<()> {
    writeln!(
        out,
        "/// Every field of every message: `(tag, kind, label, message type)`, for the codec tests."
    )?;
    writeln!(out, "#[cfg(test)]")?;
    writeln!(
        out,
        "pub(crate) const MESSAGE_FIELDS: &[(&str, &[(u32, &str, &str, &str)])] = &["
    )?;
    for message in messages {
        writeln!(out, "    ({:?}, &[", message.name)?;
        for field in &message.fields {
            let nested = if field.kind == "message" {
                field
                    .ty
                    .rsplit('<')
                    .next()
                    .map(|inner| inner.trim_end_matches('>'))
                    .context("a message field's type")?
            } else {
                ""
            };
            writeln!(
                out,
                "        ({}, {:?}, {:?}, {:?}),",
                field.tag, field.kind, field.label, nested
            )?;
        }
        writeln!(out, "    ]),")?;
    }
    writeln!(out, "];")?;
    Ok(())
}

/// Checks the fields read from prost-build's output against the .proto's descriptors, so a field the
/// transformation missed cannot go unnoticed.
pub(crate) fn check_against_descriptors(generated: FieldNumbers, declared: FieldNumbers) -> Result<()> {
    let normalise = |mut messages: FieldNumbers| {
        for (_, tags) in &mut messages {
            tags.sort_unstable();
        }
        messages.sort();
        messages
    };
    let (declared, generated) = (normalise(declared), normalise(generated));
    if declared != generated {
        bail!(
            "the generated codec does not cover exactly the fields of messages.proto:\n  declared {declared:?}\n  generated {generated:?}"
        );
    }
    Ok(())
}

/// Parses the items of `#[prost(string, optional, tag = "3")]`.
fn parse_field_attribute(items: &[String], module: Option<&str>) -> Result<Field> {
    let mut field = Field {
        name: String::new(),
        kind: String::new(),
        enum_path: None,
        label: String::new(),
        tag: 0,
        default: None,
        ty: String::new(),
        boxed: false,
    };
    for item in items {
        let (key, value) = match item.split_once(" = ") {
            Some((key, value)) => (key, Some(value.trim_matches('"'))),
            None => (item.as_str(), None),
        };
        match (key, value) {
            ("optional" | "required" | "repeated", None) => field.label = key.to_owned(),
            ("boxed", None) => field.boxed = true,
            ("tag", Some(tag)) => field.tag = tag.parse().context("field tag")?,
            ("default", Some(default)) => field.default = Some(default.to_owned()),
            ("bytes", Some("vec")) => field.kind = "bytes".to_owned(),
            ("enumeration", Some(path)) => {
                field.kind = "enumeration".to_owned();
                field.enum_path = Some(match module {
                    Some(_) => bail!("enum fields in nested modules are not supported"),
                    None => path.to_owned(),
                });
            }
            ("string" | "int32" | "int64" | "bool" | "message", None) => field.kind = key.to_owned(),
            _ => bail!("unsupported prost field attribute item `{item}`"),
        }
    }
    if field.kind.is_empty() || field.label.is_empty() || field.tag == 0 {
        bail!("incomplete prost field attribute: {items:?}");
    }
    if field.boxed && (field.kind != "message" || field.label != "optional") {
        bail!("only optional message fields can be boxed: {items:?}");
    }
    Ok(field)
}

fn write_message_impls(out: &mut String, message: &MessageType, enums: &[EnumType]) -> Result<()> {
    let name = &message.name;
    let (number_arg, writer_arg) = if message.fields.is_empty() {
        ("_number", "_w")
    } else {
        ("number", "w")
    };
    writeln!(out, "impl crate::codec::Message for {name} {{")?;
    writeln!(
        out,
        "    fn field(&mut self, {number_arg}: u32) -> crate::codec::Field<'_> {{"
    )?;
    writeln!(out, "        use crate::codec::Field;")?;
    writeln!(out, "        match number {{")?;
    for field in &message.fields {
        let (tag, f) = (field.tag, &field.name);
        let slot = match (field.kind.as_str(), field.label.as_str()) {
            ("message", "optional") if field.boxed => {
                format!("Field::Message(crate::codec::present_boxed(&mut self.{f}))")
            }
            ("message", "optional") => format!("Field::Message(crate::codec::present(&mut self.{f}))"),
            ("message", "repeated") => format!("Field::Message(crate::codec::push_default(&mut self.{f}))"),
            ("string", "repeated") => format!("Field::Strings(&mut self.{f})"),
            ("string", "required") => format!("Field::String(&mut self.{f})"),
            ("string", "optional") => format!("Field::OptString(&mut self.{f})"),
            ("bytes", "optional") => format!("Field::OptBytes(&mut self.{f})"),
            ("int32" | "enumeration", "required") => format!("Field::Int32(&mut self.{f})"),
            ("int32" | "enumeration", "optional") => format!("Field::OptInt32(&mut self.{f})"),
            ("int64", "optional") => format!("Field::OptInt64(&mut self.{f})"),
            ("bool", "optional") => format!("Field::OptBool(&mut self.{f})"),
            (kind, label) => bail!("{name}.{f}: {label} {kind} is not supported"),
        };
        writeln!(out, "            {tag} => {slot},")?;
    }
    writeln!(out, "            _ => Field::Unknown,")?;
    writeln!(out, "        }}")?;
    writeln!(out, "    }}")?;
    writeln!(
        out,
        "    fn encode_fields(&self, {writer_arg}: &mut crate::codec::Writer) {{"
    )?;
    for field in &message.fields {
        let (tag, f) = (field.tag, &field.name);
        let method = match (field.kind.as_str(), field.label.as_str()) {
            ("message", "optional") if field.boxed => "opt_boxed_message",
            ("message", "optional") => "opt_message",
            ("message", "repeated") => "messages",
            ("string", "repeated") => "strings",
            ("string", "required") => "string",
            ("string", "optional") => "opt_string",
            ("bytes", "optional") => "opt_bytes",
            ("int32" | "enumeration", "required") => "int32",
            ("int32" | "enumeration", "optional") => "opt_int32",
            ("int64", "optional") => "opt_int64",
            ("bool", "optional") => "opt_bool",
            (kind, label) => bail!("{name}.{f}: {label} {kind} is not supported"),
        };
        let argument = if method == "int32" {
            format!("self.{f}")
        } else {
            format!("&self.{f}")
        };
        writeln!(out, "        w.{method}({tag}, {argument});")?;
    }
    writeln!(out, "    }}")?;
    writeln!(out, "}}")?;

    // `Default` as one constant: every field absent or empty (optional fields with a proto `[default]`
    // are still `None`, as in prost). Copied from static data instead of written field by field, which
    // each nested message's decoding repeated (-0.9 KB gzip of wasm). Tests compare it with prost's
    // derived `Default` (see `write_empty_test`).
    writeln!(out, "impl {name} {{")?;
    writeln!(
        out,
        "    /// Every field absent or empty: what `Default` returns."
    )?;
    writeln!(out, "    pub const EMPTY: Self = Self {{")?;
    for field in &message.fields {
        let f = &field.name;
        let value = match (field.kind.as_str(), field.label.as_str()) {
            (_, "repeated") => "::std::vec::Vec::new()",
            ("string", "required") => "::std::string::String::new()",
            ("int32" | "enumeration", "required") => "0",
            (_, "optional") => "None",
            (kind, label) => bail!("{name}.{f}: {label} {kind} has no empty value"),
        };
        writeln!(out, "        {f}: {value},")?;
    }
    writeln!(out, "    }};")?;
    writeln!(out, "}}")?;
    writeln!(out, "#[cfg(not(test))]")?;
    writeln!(out, "impl ::core::default::Default for {name} {{")?;
    writeln!(out, "    fn default() -> Self {{")?;
    writeln!(out, "        Self::EMPTY")?;
    writeln!(out, "    }}")?;
    writeln!(out, "}}")?;

    // The getters prost's derive writes for optional scalar fields: the value, or the proto default.
    let getters: Vec<&Field> = message
        .fields
        .iter()
        .filter(|field| field.label == "optional" && field.kind != "message")
        .collect();
    if getters.is_empty() {
        return Ok(());
    }
    writeln!(out, "#[cfg(not(test))]")?;
    writeln!(out, "impl {name} {{")?;
    for field in getters {
        let f = &field.name;
        let plain = f.trim_start_matches("r#");
        writeln!(
            out,
            "    /// Returns the value of `{plain}`, or the default value if `{plain}` is unset."
        )?;
        match field.kind.as_str() {
            "string" => {
                let default = field.default.as_deref().unwrap_or("");
                writeln!(
                    out,
                    "    pub fn {f}(&self) -> &str {{ self.{f}.as_deref().unwrap_or({default:?}) }}"
                )?;
            }
            "bytes" => writeln!(
                out,
                "    pub fn {f}(&self) -> &[u8] {{ self.{f}.as_deref().unwrap_or(b\"\") }}"
            )?,
            "int32" | "int64" | "bool" => {
                let ty = &field.kind[..];
                let ty = if ty == "int32" {
                    "i32"
                } else if ty == "int64" {
                    "i64"
                } else {
                    "bool"
                };
                let default = field.default.clone().unwrap_or_else(|| {
                    if ty == "bool" {
                        "false".to_owned()
                    } else {
                        "0".to_owned()
                    }
                });
                writeln!(
                    out,
                    "    pub fn {f}(&self) -> {ty} {{ self.{f}.unwrap_or({default}) }}"
                )?;
            }
            "enumeration" => {
                let path = field.enum_path.as_deref().context("enum path")?;
                let known = enums.iter().any(|enum_type| enum_type.path == path);
                if !known {
                    bail!("{name}.{f}: unknown enum {path}");
                }
                let default = match &field.default {
                    Some(variant) => format!("{path}::{variant}"),
                    None => format!("<{path} as ::core::default::Default>::default()"),
                };
                writeln!(
                    out,
                    "    pub fn {f}(&self) -> {path} {{ self.{f}.and_then(|value| {path}::try_from(value).ok()).unwrap_or({default}) }}"
                )?;
                writeln!(out, "    /// Sets `{plain}` to the provided enum value.")?;
                writeln!(
                    out,
                    "    pub fn set_{plain}(&mut self, value: {path}) {{ self.{f} = Some(value as i32); }}"
                )?;
            }
            kind => bail!("{name}.{f}: no getter for {kind}"),
        }
    }
    writeln!(out, "}}")?;
    Ok(())
}

/// What `::prost::Enumeration` derives: the first variant as default, and the `i32` conversions.
fn write_enum_impls(out: &mut String, enum_type: &EnumType) -> Result<()> {
    let path = &enum_type.path;
    let (first, _) = enum_type.variants.first().context("an enum has variants")?;
    writeln!(out, "#[cfg(not(test))]")?;
    writeln!(out, "impl ::core::default::Default for {path} {{")?;
    writeln!(out, "    fn default() -> Self {{ Self::{first} }}")?;
    writeln!(out, "}}")?;
    writeln!(out, "#[cfg(not(test))]")?;
    writeln!(out, "impl ::core::convert::From<{path}> for i32 {{")?;
    writeln!(out, "    fn from(value: {path}) -> i32 {{ value as i32 }}")?;
    writeln!(out, "}}")?;
    writeln!(out, "#[cfg(not(test))]")?;
    writeln!(out, "impl ::core::convert::TryFrom<i32> for {path} {{")?;
    writeln!(out, "    type Error = crate::codec::UnknownEnumValue;")?;
    writeln!(
        out,
        "    fn try_from(value: i32) -> ::core::result::Result<Self, crate::codec::UnknownEnumValue> {{"
    )?;
    writeln!(out, "        match value {{")?;
    for (variant, value) in &enum_type.variants {
        writeln!(out, "            {value} => Ok(Self::{variant}),")?;
    }
    writeln!(
        out,
        "            _ => Err(crate::codec::UnknownEnumValue(value)),"
    )?;
    writeln!(out, "        }}")?;
    writeln!(out, "    }}")?;
    writeln!(out, "}}")?;
    writeln!(out, "#[cfg(not(test))]")?;
    writeln!(out, "impl {path} {{")?;
    writeln!(out, "    /// Whether `value` is one of this enum's values.")?;
    writeln!(
        out,
        "    pub fn is_valid(value: i32) -> bool {{ Self::try_from(value).is_ok() }}"
    )?;
    writeln!(out, "}}")?;
    Ok(())
}
