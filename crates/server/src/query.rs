//! Evaluator for LeanCloud's conversation query language: the `where` JSON of `conv/query`
//! (PROTOCOL.md §3.4 "Conversation query details", §5.5) plus its `sort` string.
//!
//! The language is Parse's, which LeanCloud runs on MongoDB, so where the SDKs leave a
//! question open we follow MongoDB's rules:
//!
//! * A top-level key is a field path; `attr.color` walks nested objects (and arrays of
//!   objects, and `m.0` indexes an array). A key stored literally with a dot wins over the walk.
//! * A value that is not an operator object means equality. For an array field, equality with
//!   a scalar means "the array contains it"; equality with an array means the exact array.
//!   Equality with `null` also matches a missing field.
//! * Operators: `$eq $ne $lt $lte $gt $gte $in $nin $all $exists $regex $options $size $not`
//!   on fields, `$and $or $nor` on clauses. Anything else is rejected rather than ignored, so
//!   a client never gets silently unfiltered results.
//! * Numbers compare exactly across integers and floats. `{"__type":"Date","iso":…}` values
//!   compare by instant, also against plain ISO-8601 strings (documents may store
//!   `createdAt`/`updatedAt` that way).
//! * `$regex` accepts Java's `\Q…\E` quoting, which the SDK's `contains`/`startsWith`/`endsWith`
//!   send. Patterns are capped at [`MAX_REGEX_BYTES`] and compiled by the linear-time `regex`
//!   crate, so no input can trigger catastrophic backtracking. Lookaround and backreferences are
//!   therefore unsupported and rejected with [`QueryError::BadRegex`].
//!
//! Nothing here panics on any input; a property test feeds it arbitrary JSON.

use std::cmp::Ordering;
use std::fmt::Write as _;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Number, Value};

/// Longest `$regex` pattern accepted, in bytes, before `\Q…\E` translation.
pub const MAX_REGEX_BYTES: usize = 1024;

/// Most `$regex` conditions one `where` may hold; each compiles to an automaton, so this bounds
/// the memory and CPU one request can spend on compilation.
pub const MAX_REGEXES: usize = 64;

/// Deepest nesting of `$and`/`$or`/`$nor`/`$not` accepted; evaluation recurses on it.
pub const MAX_DEPTH: usize = 32;

/// Compiled-program budget per regex (bytes). The crate's default is 10 MiB, which is far more
/// than a conversation search needs and would let one query hog memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a `where` (or one of its operands) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The `where` itself, or a clause inside `$and`/`$or`/`$nor`, is not a JSON object.
    #[error("query must be a JSON object")]
    NotAnObject,
    /// A `$`-prefixed key that this evaluator does not implement.
    #[error("unknown query operator {0}")]
    UnknownOperator(String),
    /// A known operator with an operand of the wrong shape.
    #[error("bad operand for {op}: {reason}")]
    BadOperand {
        /// The operator, e.g. `$in`.
        op: String,
        /// What was wrong with its operand.
        reason: String,
    },
    /// A `$regex` that is too long, uses unsupported syntax or options, or does not compile.
    #[error("bad regular expression: {0}")]
    BadRegex(String),
    /// Logical operators nest deeper than [`MAX_DEPTH`].
    #[error("query nests deeper than {0} levels")]
    TooDeep(usize),
}

fn bad_operand(op: &str, reason: &str) -> QueryError {
    QueryError::BadOperand {
        op: op.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A parsed `where`, ready to be evaluated against many documents.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    /// Every child must match; an empty list matches everything (`{}`).
    And(Vec<Node>),
    Or(Vec<Node>),
    Nor(Vec<Node>),
    Field {
        path: FieldPath,
        conds: Vec<Cond>,
    },
}

#[derive(Debug, Clone)]
struct FieldPath {
    raw: String,
    segments: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CmpOp {
    fn accepts(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Lte => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Gte => ord != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone)]
enum Cond {
    Eq(Value),
    Ne(Value),
    Cmp(CmpOp, Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    All(Vec<Value>),
    Exists(bool),
    Regex(Regex),
    Size(usize),
    Not(Vec<Cond>),
}

/// Parses a `where` JSON object.
///
/// `null` is accepted and, like `{}`, matches every document: some clients send it for "no
/// condition". Unknown operators and malformed operands are errors, never ignored.
pub fn parse_where(where_json: &Value) -> Result<Filter, QueryError> {
    let mut parser = Parser { regexes: 0 };
    let root = match where_json {
        Value::Null => Node::And(Vec::new()),
        Value::Object(obj) => parser.clause(obj, 0)?,
        _ => return Err(QueryError::NotAnObject),
    };
    Ok(Filter { root })
}

struct Parser {
    regexes: usize,
}

impl Parser {
    fn clause(&mut self, obj: &Map<String, Value>, depth: usize) -> Result<Node, QueryError> {
        if depth > MAX_DEPTH {
            return Err(QueryError::TooDeep(MAX_DEPTH));
        }
        let mut parts = Vec::with_capacity(obj.len());
        for (key, value) in obj {
            let node = match key.as_str() {
                "$and" => Node::And(self.clauses(key, value, depth)?),
                "$or" => Node::Or(self.clauses(key, value, depth)?),
                "$nor" => Node::Nor(self.clauses(key, value, depth)?),
                k if k.starts_with('$') => return Err(QueryError::UnknownOperator(k.to_owned())),
                _ => Node::Field {
                    path: FieldPath::new(key),
                    conds: self.field_value(value, depth)?,
                },
            };
            parts.push(node);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Node::And(parts)
        })
    }

    fn clauses(&mut self, op: &str, value: &Value, depth: usize) -> Result<Vec<Node>, QueryError> {
        let items = value
            .as_array()
            .ok_or_else(|| bad_operand(op, "expected an array of queries"))?;
        // MongoDB rejects an empty list too; accepting it would have to pick a meaning.
        if items.is_empty() {
            return Err(bad_operand(op, "expected a non-empty array"));
        }
        items
            .iter()
            .map(|item| match item {
                Value::Object(obj) => self.clause(obj, depth + 1),
                _ => Err(QueryError::NotAnObject),
            })
            .collect()
    }

    /// The conditions for one field: an operator object, or a plain value meaning equality.
    fn field_value(&mut self, value: &Value, depth: usize) -> Result<Vec<Cond>, QueryError> {
        match as_operator_object(value)? {
            Some(ops) => self.operators(ops, depth),
            None => Ok(vec![Cond::Eq(value.clone())]),
        }
    }

    fn operators(&mut self, ops: &Map<String, Value>, depth: usize) -> Result<Vec<Cond>, QueryError> {
        if depth > MAX_DEPTH {
            return Err(QueryError::TooDeep(MAX_DEPTH));
        }
        let mut conds = Vec::with_capacity(ops.len());
        // `$regex` and `$options` are two keys of one condition and may come in either order.
        let mut regex: Option<&str> = None;
        let mut options: Option<&str> = None;
        for (op, operand) in ops {
            let cond = match op.as_str() {
                "$eq" => Cond::Eq(operand.clone()),
                "$ne" => Cond::Ne(operand.clone()),
                "$lt" => Cond::Cmp(CmpOp::Lt, operand.clone()),
                "$lte" => Cond::Cmp(CmpOp::Lte, operand.clone()),
                "$gt" => Cond::Cmp(CmpOp::Gt, operand.clone()),
                "$gte" => Cond::Cmp(CmpOp::Gte, operand.clone()),
                "$in" => Cond::In(array_operand(op, operand)?),
                "$nin" => Cond::Nin(array_operand(op, operand)?),
                "$all" => Cond::All(array_operand(op, operand)?),
                "$exists" => Cond::Exists(
                    operand
                        .as_bool()
                        .ok_or_else(|| bad_operand(op, "expected a boolean"))?,
                ),
                "$size" => Cond::Size(
                    size_operand(operand)
                        .ok_or_else(|| bad_operand(op, "expected a non-negative integer"))?,
                ),
                "$regex" => {
                    regex = Some(
                        operand
                            .as_str()
                            .ok_or_else(|| bad_operand(op, "expected a string"))?,
                    );
                    continue;
                }
                "$options" => {
                    options = Some(
                        operand
                            .as_str()
                            .ok_or_else(|| bad_operand(op, "expected a string"))?,
                    );
                    continue;
                }
                "$not" => match as_operator_object(operand)? {
                    Some(inner) => Cond::Not(self.operators(inner, depth + 1)?),
                    None => return Err(bad_operand(op, "expected an operator object")),
                },
                other => return Err(QueryError::UnknownOperator(other.to_owned())),
            };
            conds.push(cond);
        }
        match (regex, options) {
            (Some(pattern), options) => conds.push(Cond::Regex(self.regex(pattern, options.unwrap_or(""))?)),
            (None, Some(_)) => return Err(bad_operand("$options", "requires $regex")),
            (None, None) => {}
        }
        Ok(conds)
    }

    fn regex(&mut self, pattern: &str, options: &str) -> Result<Regex, QueryError> {
        self.regexes += 1;
        if self.regexes > MAX_REGEXES {
            return Err(QueryError::BadRegex(format!(
                "more than {MAX_REGEXES} patterns in one query"
            )));
        }
        if pattern.len() > MAX_REGEX_BYTES {
            return Err(QueryError::BadRegex(format!(
                "pattern longer than {MAX_REGEX_BYTES} bytes"
            )));
        }
        let mut builder = RegexBuilder::new(&translate_java_quotes(pattern));
        for flag in options.chars() {
            match flag {
                'i' => builder.case_insensitive(true),
                'm' => builder.multi_line(true),
                's' => builder.dot_matches_new_line(true),
                'x' => builder.ignore_whitespace(true),
                other => return Err(QueryError::BadRegex(format!("unsupported option {other:?}"))),
            };
        }
        builder
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .nest_limit(64)
            .build()
            .map_err(|e| QueryError::BadRegex(e.to_string()))
    }
}

/// `Some(map)` when `value` is an object of operators (every key starts with `$`), `None` when it
/// is a plain value to compare for equality. Mixing both is ambiguous, so it is an error.
fn as_operator_object(value: &Value) -> Result<Option<&Map<String, Value>>, QueryError> {
    let Value::Object(obj) = value else {
        return Ok(None);
    };
    match obj.keys().find(|k| k.starts_with('$')) {
        None => Ok(None),
        Some(_) if obj.keys().all(|k| k.starts_with('$')) => Ok(Some(obj)),
        Some(first) => Err(bad_operand(first, "operators cannot be mixed with plain keys")),
    }
}

fn array_operand(op: &str, operand: &Value) -> Result<Vec<Value>, QueryError> {
    operand
        .as_array()
        .cloned()
        .ok_or_else(|| bad_operand(op, "expected an array"))
}

/// `$size` takes a non-negative integer; JS sends every number as a double, so `2.0` counts.
fn size_operand(operand: &Value) -> Option<usize> {
    let n = operand.as_number()?;
    if let Some(u) = n.as_u64() {
        return usize::try_from(u).ok();
    }
    let f = n.as_f64()?;
    // Above 2^53 a double cannot name an exact length anyway, and no array is that long.
    (f >= 0.0 && f.fract() == 0.0 && f < 9_007_199_254_740_992.0).then_some(f as usize)
}

/// Rewrites Java's `\Q…\E` literal quoting (which the `regex` crate lacks) into escaped
/// characters. Everything else is left for the regex crate to judge.
///
/// Characters inside a quote become `\x{…}` escapes unless ASCII alphanumeric: unlike a
/// backslash escape, that form means "this literal" everywhere, including inside a character
/// class and under the `x` (ignore whitespace) option. An unterminated `\Q` runs to the end, as
/// in Java. A stray `\E` is dropped: Java rejects it, but the SDK's `_quote` only re-quotes the
/// first `\E` of its input, so later ones reach us unbalanced and dropping is the kindest reading.
fn translate_java_quotes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // A dangling backslash: keep it so the regex crate reports the error.
            None => out.push('\\'),
            Some('Q') => loop {
                match chars.next() {
                    None => break,
                    Some('\\') if chars.peek() == Some(&'E') => {
                        chars.next();
                        break;
                    }
                    Some(lit) if lit.is_ascii_alphanumeric() => out.push(lit),
                    Some(lit) => {
                        let _ = write!(out, "\\x{{{:x}}}", u32::from(lit));
                    }
                }
            },
            Some('E') => {}
            // Any other escape (including `\\`) is copied whole so `\\Q` stays a backslash + `Q`.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

impl FieldPath {
    fn new(raw: &str) -> Self {
        FieldPath {
            raw: raw.to_owned(),
            segments: raw.split('.').map(str::to_owned).collect(),
        }
    }

    /// Every value the path reaches in `doc` (none when the field is missing). Following MongoDB,
    /// a non-numeric segment applied to an array reaches into each object element.
    fn resolve<'a>(&self, doc: &'a Map<String, Value>, out: &mut Vec<&'a Value>) {
        if let Some(v) = doc.get(&self.raw) {
            out.push(v);
            return;
        }
        let Some((first, rest)) = self.segments.split_first() else {
            return;
        };
        if rest.is_empty() {
            return; // a single-segment path is exactly `raw`, already looked up
        }
        if let Some(v) = doc.get(first) {
            walk(v, rest, out);
        }
    }
}

fn walk<'a>(value: &'a Value, segments: &[String], out: &mut Vec<&'a Value>) {
    let Some((seg, rest)) = segments.split_first() else {
        out.push(value);
        return;
    };
    match value {
        Value::Object(obj) => {
            if let Some(v) = obj.get(seg) {
                walk(v, rest, out);
            }
        }
        Value::Array(items) => {
            if let Ok(index) = seg.parse::<usize>() {
                if let Some(v) = items.get(index) {
                    walk(v, rest, out);
                }
            } else {
                for item in items {
                    if let Some(v) = item.as_object().and_then(|o| o.get(seg)) {
                        walk(v, rest, out);
                    }
                }
            }
        }
        _ => {}
    }
}

impl Filter {
    /// Whether `doc` (a conversation as stored, e.g. `{"objectId":…, "m":[…], "tr":true}`)
    /// satisfies the `where`.
    pub fn matches(&self, doc: &Map<String, Value>) -> bool {
        self.root.matches(doc)
    }

    /// `Some(ids)` when the filter requires `objectId` to be one of these (equality or `$in` at
    /// the top level or inside a top-level `$and`; an `$or` whose every branch pins ids yields
    /// their union), so the server can look them up directly instead of scanning.
    ///
    /// The list is a candidate set without duplicates: the caller must still run
    /// [`Filter::matches`] on each document found. `Some(vec![])` means nothing can match.
    pub fn object_ids(&self) -> Option<Vec<String>> {
        self.root.object_ids()
    }

    /// The members that every matching conversation must contain, for narrowing by a member
    /// index. Derived from `m` equality with a string (or exact array), `m: {$all: […]}`,
    /// `m: {$eq}` and `m: {$in: […]}` (only what every listed alternative requires), combined
    /// through `$and` (union) and `$or` (intersection); negations contribute nothing.
    ///
    /// Sound on the assumption the server keeps `m` as an array of strings. Without duplicates;
    /// empty means no narrowing is possible.
    pub fn required_members(&self) -> Vec<String> {
        self.root.required_members()
    }

    /// Whether evaluating the filter may read document key `key`: a field's whole path or its
    /// first segment. A document holding only such keys (with the same values) matches exactly
    /// when the full one does.
    pub fn reads_key(&self, key: &str) -> bool {
        self.root.reads_key(key)
    }

    /// Whether the filter reads no document key but `keys` (true for `{}`, which reads none).
    pub fn reads_only(&self, keys: &[&str]) -> bool {
        self.root.reads_only(keys)
    }

    /// A weaker filter, cheap to test first: the conditions every match must meet (the filter's
    /// top-level field conditions, through nested `$and`s) on the fields that `keep` accepts.
    /// `keep` is asked about a field's whole path and its first segment; both must pass.
    ///
    /// A document that fails it fails the whole filter, provided the kept fields read the same in
    /// the document tested here as in the full one (the server tests a conversation's custom
    /// attributes before building its JSON). With no kept condition it matches everything.
    pub fn conditions_on(&self, keep: impl Fn(&str) -> bool) -> Filter {
        let mut kept = Vec::new();
        self.root.collect_conditions_on(&keep, &mut kept);
        Filter {
            root: Node::And(kept),
        }
    }
}

impl Node {
    fn matches(&self, doc: &Map<String, Value>) -> bool {
        match self {
            Node::And(nodes) => nodes.iter().all(|n| n.matches(doc)),
            Node::Or(nodes) => nodes.iter().any(|n| n.matches(doc)),
            Node::Nor(nodes) => !nodes.iter().any(|n| n.matches(doc)),
            Node::Field { path, conds } => {
                let mut found = Vec::new();
                path.resolve(doc, &mut found);
                conds.iter().all(|c| c.matches(&found))
            }
        }
    }

    fn object_ids(&self) -> Option<Vec<String>> {
        match self {
            Node::Field { path, conds } if path.raw == "objectId" => conds
                .iter()
                .filter_map(Cond::object_ids)
                .reduce(|a, b| intersect(&a, &b)),
            Node::Field { .. } | Node::Nor(_) => None,
            Node::And(nodes) => nodes
                .iter()
                .filter_map(Node::object_ids)
                .reduce(|a, b| intersect(&a, &b)),
            Node::Or(nodes) => {
                let mut all = Vec::new();
                for node in nodes {
                    all = union(all, node.object_ids()?);
                }
                Some(all)
            }
        }
    }

    fn reads_key(&self, key: &str) -> bool {
        match self {
            Node::And(nodes) | Node::Or(nodes) | Node::Nor(nodes) => nodes.iter().any(|n| n.reads_key(key)),
            Node::Field { path, .. } => path.raw == key || path.segments.first().is_some_and(|s| s == key),
        }
    }

    fn reads_only(&self, keys: &[&str]) -> bool {
        match self {
            Node::And(nodes) | Node::Or(nodes) | Node::Nor(nodes) => nodes.iter().all(|n| n.reads_only(keys)),
            // A dotted path (`lm.iso`) may name a key of its own (`"lm.iso"`): it reads more.
            Node::Field { path, .. } => path.segments.len() == 1 && keys.contains(&path.raw.as_str()),
        }
    }

    fn collect_conditions_on(&self, keep: &impl Fn(&str) -> bool, kept: &mut Vec<Node>) {
        match self {
            Node::And(nodes) => {
                for node in nodes {
                    node.collect_conditions_on(keep, kept);
                }
            }
            Node::Field { path, .. } => {
                let first = path.segments.first().map_or(path.raw.as_str(), String::as_str);
                if keep(&path.raw) && keep(first) {
                    kept.push(self.clone());
                }
            }
            Node::Or(_) | Node::Nor(_) => {}
        }
    }

    fn required_members(&self) -> Vec<String> {
        match self {
            Node::Field { path, conds } if path.raw == "m" => {
                conds.iter().map(Cond::required_members).fold(Vec::new(), union)
            }
            Node::Field { .. } | Node::Nor(_) => Vec::new(),
            Node::And(nodes) => nodes.iter().map(Node::required_members).fold(Vec::new(), union),
            Node::Or(nodes) => nodes
                .iter()
                .map(Node::required_members)
                .reduce(|a, b| intersect(&a, &b))
                .unwrap_or_default(),
        }
    }
}

impl Cond {
    /// `found` holds every value the field path reached; empty means the field is missing.
    fn matches(&self, found: &[&Value]) -> bool {
        match self {
            Cond::Eq(operand) => eq_matches(found, operand),
            Cond::Ne(operand) => !eq_matches(found, operand),
            Cond::Cmp(op, operand) => found.iter().any(|v| {
                let ok = |x: &Value| filter_cmp(x, operand).is_some_and(|o| op.accepts(o));
                ok(v) || v.as_array().is_some_and(|items| items.iter().any(ok))
            }),
            Cond::In(list) => list.iter().any(|operand| eq_matches(found, operand)),
            Cond::Nin(list) => !list.iter().any(|operand| eq_matches(found, operand)),
            // An empty `$all` is vacuously true for an array (MongoDB matches nothing instead),
            // so `withMembers([])` + `$size: 0` finds the empty conversations it asks for.
            Cond::All(list) if list.is_empty() => found.iter().any(|v| v.is_array()),
            Cond::All(list) => list.iter().all(|operand| eq_matches(found, operand)),
            Cond::Exists(wanted) => found.is_empty() != *wanted,
            Cond::Regex(re) => found.iter().any(|v| match v {
                Value::String(s) => re.is_match(s),
                Value::Array(items) => items.iter().any(|x| x.as_str().is_some_and(|s| re.is_match(s))),
                _ => false,
            }),
            Cond::Size(n) => found.iter().any(|v| v.as_array().is_some_and(|a| a.len() == *n)),
            Cond::Not(conds) => !conds.iter().all(|c| c.matches(found)),
        }
    }

    fn object_ids(&self) -> Option<Vec<String>> {
        match self {
            Cond::Eq(Value::String(id)) => Some(vec![id.clone()]),
            // Only all-string lists: a `null` in the list would also match a document without an
            // `objectId`, which a lookup by id could not find.
            Cond::In(list) => list
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(dedup),
            _ => None,
        }
    }

    fn required_members(&self) -> Vec<String> {
        match self {
            Cond::Eq(operand) => members_required_by_eq(operand),
            Cond::All(list) => list.iter().map(members_required_by_eq).fold(Vec::new(), union),
            // Only what every alternative requires.
            Cond::In(list) => list
                .iter()
                .map(members_required_by_eq)
                .reduce(|a, b| intersect(&a, &b))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// Members that `m == operand` (array-contains or exact array) forces into `m`.
fn members_required_by_eq(operand: &Value) -> Vec<String> {
    match operand {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => dedup(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        _ => Vec::new(),
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    union(Vec::new(), items)
}

/// `a` followed by the items of `b` it lacks; keeps first-seen order (lists are short).
fn union(mut a: Vec<String>, b: Vec<String>) -> Vec<String> {
    for item in b {
        if !a.contains(&item) {
            a.push(item);
        }
    }
    a
}

fn intersect(a: &[String], b: &[String]) -> Vec<String> {
    dedup(a.iter().filter(|x| b.contains(x)).cloned().collect())
}

/// MongoDB equality against a field: a missing field equals `null`; an array field also
/// matches when one of its elements equals the operand.
fn eq_matches(found: &[&Value], operand: &Value) -> bool {
    if found.is_empty() {
        return operand.is_null();
    }
    found.iter().any(|v| {
        values_eq(v, operand)
            || v.as_array()
                .is_some_and(|items| items.iter().any(|x| values_eq(x, operand)))
    })
}

/// Deep equality where numbers compare by value (`1 == 1.0`), object key order is ignored, and a
/// Date object equals another Date or an ISO string naming the same instant.
fn values_eq(a: &Value, b: &Value) -> bool {
    if is_date_object(a) || is_date_object(b) {
        if let (Some(x), Some(y)) = (instant_of(a), instant_of(b)) {
            return x == y;
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Ordering for `$lt`-style operators; `None` when the two values are not comparable
/// (MongoDB's type bracketing: `{$gt: 5}` never matches a string).
fn filter_cmp(doc: &Value, operand: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (instant_of(doc), instant_of(operand)) {
        return Some(x.cmp(&y));
    }
    match (doc, operand) {
        (Value::Number(x), Value::Number(y)) => Some(num_cmp(x, y)),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

/// Exact comparison of JSON numbers, integers against floats included (no rounding through f64).
fn num_cmp(a: &Number, b: &Number) -> Ordering {
    match (int_of(a), int_of(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => cmp_int_float(x, b.as_f64().unwrap_or(0.0)),
        (None, Some(y)) => cmp_int_float(y, a.as_f64().unwrap_or(0.0)).reverse(),
        (None, None) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

fn int_of(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

fn cmp_int_float(i: i128, f: f64) -> Ordering {
    // serde_json never holds NaN or infinities; this keeps the function total regardless.
    if f.is_nan() {
        return Ordering::Less;
    }
    const TWO_POW_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f >= TWO_POW_127 {
        return Ordering::Less;
    }
    if f < -TWO_POW_127 {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    match i.cmp(&(whole as i128)) {
        // Same integer part: the fraction decides (its sign is the sign of `f`).
        Ordering::Equal => 0.0_f64.partial_cmp(&(f - whole)).unwrap_or(Ordering::Equal),
        other => other,
    }
}

fn is_date_object(v: &Value) -> bool {
    v.as_object()
        .and_then(|o| o.get("__type"))
        .and_then(Value::as_str)
        == Some("Date")
}

/// The instant a value names: a `{"__type":"Date","iso":…}` object or an ISO-8601 date-time string.
fn instant_of(v: &Value) -> Option<Instant> {
    match v {
        Value::String(s) => parse_iso(s),
        Value::Object(o) if is_date_object(v) => o.get("iso").and_then(Value::as_str).and_then(parse_iso),
        _ => None,
    }
}

/// Whether string `s` sorts and compares as a date (an ISO 8601 date and time), not as a string.
pub fn is_date_string(s: &str) -> bool {
    parse_iso(s).is_some()
}

/// Nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Instant(i128);

/// Parses `YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH[:MM]]` (a space may replace `T`; no zone means
/// UTC). A time of day is required so ordinary strings such as `2026-01-01` stay strings.
/// Normalising to an instant is what makes `…T08:00:00+08:00` equal `…T00:00:00.000Z`.
fn parse_iso(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    if b.len() < 16 || b.len() > 64 {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || hour > 23 || minute > 59
    {
        return None;
    }
    let mut pos = 16;
    let mut second = 0;
    let mut nanos: i128 = 0;
    if b.get(pos) == Some(&b':') {
        second = digits(b, pos + 1, 2)?;
        if second > 60 {
            return None;
        }
        pos += 3;
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            let start = pos;
            let mut scale = 100_000_000;
            while let Some(d) = b.get(pos).filter(|c| c.is_ascii_digit()) {
                // Digits past nanoseconds are dropped, not rounded.
                nanos += i128::from(d - b'0') * scale;
                scale /= 10;
                pos += 1;
            }
            if pos == start {
                return None;
            }
        }
    }
    let offset_minutes: i64 = match b.get(pos) {
        None => 0,
        Some(b'Z' | b'z') if pos + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, pos + 1, 2)?;
            let om = match b.len() - (pos + 3) {
                0 => 0,
                2 => digits(b, pos + 3, 2)?,
                3 if b[pos + 3] == b':' => digits(b, pos + 4, 2)?,
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let total = oh * 60 + om;
            if sign == b'+' { total } else { -total }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(Instant(i128::from(seconds) * 1_000_000_000 + nanos))
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<i64> {
    let slice = b.get(start..start + len)?;
    slice.iter().try_fold(0_i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One key of a `sort` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// Field path, dotted for nested objects (`attr.rank`).
    pub field: String,
    /// `true` for a `-field` key.
    pub descending: bool,
}

/// Parses a `sort` string such as `"-lm,name"`: comma-separated fields, `-` for descending
/// (a leading `+` is tolerated). Blank entries and surrounding whitespace are ignored.
pub fn parse_sort(sort: &str) -> Vec<SortKey> {
    sort.split(',')
        .filter_map(|part| {
            let part = part.trim();
            let (descending, field) = match part.strip_prefix('-') {
                Some(rest) => (true, rest.trim()),
                None => (false, part.strip_prefix('+').unwrap_or(part).trim()),
            };
            (!field.is_empty()).then(|| SortKey {
                field: field.to_owned(),
                descending,
            })
        })
        .collect()
}

/// Compares two documents by `keys`, first key first. Missing values sort first in ascending
/// order (so last when descending); values of different types order as
/// null < bool < number < string < date < array < object, where dates are Date objects and ISO
/// date-time strings, compared by instant. This is a total order, so it is safe for
/// `sort_by`; equal documents compare `Equal` and a stable sort keeps their input order.
pub fn compare(a: &Map<String, Value>, b: &Map<String, Value>, keys: &[SortKey]) -> Ordering {
    by_keys(keys.iter().map(|key| {
        let ord = missing_first(sort_value(a, &key.field), sort_value(b, &key.field), sort_cmp);
        (ord, key.descending)
    }))
}

/// How sort keys combine: the first order that is not `Equal`, reversed when its key is
/// descending (`(order, descending)` per key, first key first, evaluated lazily).
pub fn by_keys(orders: impl Iterator<Item = (Ordering, bool)>) -> Ordering {
    orders
        .map(|(ord, descending)| if descending { ord.reverse() } else { ord })
        .find(|ord| ord.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// `cmp` of two values, a missing one first.
fn missing_first<T>(x: Option<T>, y: Option<T>, cmp: impl FnOnce(T, T) -> Ordering) -> Ordering {
    match (x, y) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => cmp(x, y),
    }
}

/// A document's values for sort keys, classified once (dates parsed once), for sorting many
/// documents: [`compare_prepared`] on these orders exactly as [`compare`] on the documents, without
/// classifying every value again in every comparison.
#[derive(Debug)]
pub struct SortValues(Vec<Option<Classified>>);

/// A value with its sort class.
#[derive(Debug)]
struct Classified {
    rank: u8,
    instant: Option<Instant>,
    value: Value,
}

impl SortValues {
    /// Takes the values `keys` read out of `doc`, which the caller no longer needs for sorting.
    pub fn take(doc: &mut Map<String, Value>, keys: &[SortKey]) -> Self {
        let mut values: Vec<Option<Classified>> = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            // A value another key reads too (`name,-name`, `when,when.iso`) is copied, not taken.
            let shared = keys.iter().enumerate().any(|(other, k)| {
                other != index
                    && (k.field == key.field || k.field.split('.').next() == Some(key.field.as_str()))
            });
            let value = if shared {
                sort_value(doc, &key.field).cloned()
            } else {
                doc.remove(&key.field)
                    .or_else(|| sort_value(doc, &key.field).cloned())
            };
            values.push(value.map(|value| {
                let (rank, instant) = sort_class(&value);
                Classified { rank, instant, value }
            }));
        }
        Self(values)
    }
}

/// [`compare`] on the values [`SortValues::take`] took for the same `keys`.
pub fn compare_prepared(a: &SortValues, b: &SortValues, keys: &[SortKey]) -> Ordering {
    by_keys(keys.iter().zip(a.0.iter().zip(&b.0)).map(|(key, (x, y))| {
        let ord = missing_first(x.as_ref(), y.as_ref(), |x, y| {
            classified_cmp((&x.value, x.rank, x.instant), (&y.value, y.rank, y.instant))
        });
        (ord, key.descending)
    }))
}

/// Whether sorting by `keys` may read document key `key` (a key's whole path or first segment).
pub fn sort_reads_key(keys: &[SortKey], key: &str) -> bool {
    keys.iter()
        .any(|k| k.field == key || k.field.split('.').next() == Some(key))
}

/// The value a sort key names: the literal key, else the first value the dotted path reaches.
fn sort_value<'a>(doc: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    if let Some(v) = doc.get(field) {
        return Some(v);
    }
    let mut found = Vec::new();
    FieldPath::new(field).resolve(doc, &mut found);
    found.first().copied()
}

/// Rank of a value's type class in the sort order, plus its instant when it is a date.
fn sort_class(v: &Value) -> (u8, Option<Instant>) {
    if let Some(instant) = instant_of(v) {
        return (5, Some(instant));
    }
    let rank = match v {
        Value::Null => 1,
        Value::Bool(_) => 2,
        Value::Number(_) => 3,
        Value::String(_) => 4,
        Value::Array(_) => 6,
        Value::Object(_) => 7,
    };
    (rank, None)
}

/// Total order on JSON values. Classification is per value (never per pair) so the order stays
/// transitive: a string is a date whenever it parses as one, whatever it is compared with.
fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    let (ra, ia) = sort_class(a);
    let (rb, ib) = sort_class(b);
    classified_cmp((a, ra, ia), (b, rb, ib))
}

/// [`sort_cmp`] of two values whose [`sort_class`]es are known already.
fn classified_cmp(
    (a, ra, ia): (&Value, u8, Option<Instant>),
    (b, rb, ib): (&Value, u8, Option<Instant>),
) -> Ordering {
    ra.cmp(&rb).then_with(|| match (a, b) {
        _ if ra == 5 => ia.cmp(&ib),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(p, q)| sort_cmp(p, q))
            .find(|o| o.is_ne())
            .unwrap_or(x.len().cmp(&y.len())),
        (Value::Object(x), Value::Object(y)) => x
            .iter()
            .zip(y)
            .map(|((kx, vx), (ky, vy))| kx.as_bytes().cmp(ky.as_bytes()).then_with(|| sort_cmp(vx, vy)))
            .find(|o| o.is_ne())
            .unwrap_or(x.len().cmp(&y.len())),
        _ => Ordering::Equal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("test document must be an object, got {other}"),
        }
    }

    fn filter(w: Value) -> Filter {
        match parse_where(&w) {
            Ok(f) => f,
            Err(e) => panic!("where {w} rejected: {e}"),
        }
    }

    fn hit(w: Value, d: Value) -> bool {
        filter(w).matches(&doc(d))
    }

    fn err(w: Value) -> QueryError {
        match parse_where(&w) {
            Ok(f) => panic!("where {w} accepted as {f:?}"),
            Err(e) => e,
        }
    }

    fn date(iso: &str) -> Value {
        json!({"__type": "Date", "iso": iso})
    }

    /// What the SDK's `_quote` sends, rebuilt in Rust: `\Q` + s (first `\E` re-quoted) + `\E`.
    fn sdk_quote(s: &str) -> String {
        format!("\\Q{}\\E", s.replacen("\\E", "\\E\\\\E\\Q", 1))
    }

    #[test]
    fn equality_scalars() {
        assert!(hit(json!({"name": "cats"}), json!({"name": "cats"})));
        assert!(!hit(json!({"name": "cats"}), json!({"name": "dogs"})));
        assert!(!hit(json!({"name": "cats"}), json!({})));
        assert!(hit(json!({"n": 1}), json!({"n": 1.0})));
        assert!(hit(json!({"n": 1.5}), json!({"n": 1.5})));
        assert!(!hit(json!({"n": 1}), json!({"n": "1"})));
        assert!(hit(json!({"flag": false}), json!({"flag": false})));
        assert!(!hit(json!({"flag": false}), json!({})));
        assert!(hit(json!({"n": {"$eq": 2}}), json!({"n": 2})));
    }

    #[test]
    fn equality_with_null_matches_missing_and_null() {
        assert!(hit(json!({"x": null}), json!({})));
        assert!(hit(json!({"x": null}), json!({"x": null})));
        assert!(!hit(json!({"x": null}), json!({"x": 0})));
    }

    #[test]
    fn chat_room_and_service_queries() {
        let rooms = filter(json!({"tr": true}));
        assert!(rooms.matches(&doc(json!({"objectId": "a", "tr": true}))));
        assert!(!rooms.matches(&doc(json!({"objectId": "b", "tr": false}))));
        assert!(!rooms.matches(&doc(json!({"objectId": "c"}))));
        assert!(hit(json!({"sys": true}), json!({"sys": true})));
    }

    #[test]
    fn array_field_equality_means_contains_or_exact() {
        let d = json!({"m": ["Tom", "Jerry"]});
        assert!(hit(json!({"m": "Jerry"}), d.clone()));
        assert!(!hit(json!({"m": "Spike"}), d.clone()));
        assert!(hit(json!({"m": ["Tom", "Jerry"]}), d.clone()));
        assert!(!hit(json!({"m": ["Jerry", "Tom"]}), d.clone()));
        assert!(!hit(json!({"m": ["Tom"]}), d));
    }

    #[test]
    fn object_equality_ignores_key_order_and_number_form() {
        let d = json!({"attr": {"a": 1, "b": [1, 2]}});
        assert!(hit(json!({"attr": {"b": [1.0, 2], "a": 1}}), d.clone()));
        assert!(!hit(json!({"attr": {"a": 1}}), d));
    }

    #[test]
    fn dotted_paths() {
        let d = json!({"attr": {"color": "red", "size": {"w": 3}}, "m": ["a", "b"], "items": [{"k": 1}, {"k": 2}]});
        assert!(hit(json!({"attr.color": "red"}), d.clone()));
        assert!(hit(json!({"attr.size.w": {"$gte": 3}}), d.clone()));
        assert!(!hit(json!({"attr.colour": "red"}), d.clone()));
        assert!(hit(json!({"attr.colour": {"$exists": false}}), d.clone()));
        assert!(hit(json!({"m.1": "b"}), d.clone()));
        assert!(hit(json!({"items.k": 2}), d.clone()));
        assert!(!hit(json!({"name.x": 1}), json!({"name": "plain"})));
        // A key stored with a literal dot wins.
        assert!(hit(json!({"attr.lee": 1}), json!({"attr.lee": 1})));
    }

    #[test]
    fn ne_matches_missing_and_excludes_array_members() {
        assert!(hit(json!({"name": {"$ne": "x"}}), json!({"name": "y"})));
        assert!(hit(json!({"name": {"$ne": "x"}}), json!({})));
        assert!(!hit(json!({"name": {"$ne": "x"}}), json!({"name": "x"})));
        assert!(!hit(json!({"m": {"$ne": "a"}}), json!({"m": ["a", "b"]})));
        assert!(hit(json!({"m": {"$ne": "c"}}), json!({"m": ["a", "b"]})));
    }

    #[test]
    fn comparisons_on_numbers() {
        let d = json!({"n": 5});
        assert!(hit(json!({"n": {"$lt": 6}}), d.clone()));
        assert!(!hit(json!({"n": {"$lt": 5}}), d.clone()));
        assert!(hit(json!({"n": {"$lte": 5.0}}), d.clone()));
        assert!(hit(json!({"n": {"$gt": 4.5}}), d.clone()));
        assert!(!hit(json!({"n": {"$gt": 5}}), d.clone()));
        assert!(hit(json!({"n": {"$gte": 5, "$lt": 5.000001}}), d.clone()));
        assert!(!hit(json!({"n": {"$gt": "4"}}), d.clone()), "type bracketing");
        assert!(
            !hit(json!({"n": {"$lt": 6}}), json!({})),
            "missing never compares"
        );
        assert!(!hit(json!({"n": {"$gt": 1}}), json!({"n": null})));
        // Exact across i64/u64/f64, where f64 rounding would say "equal".
        assert!(hit(
            json!({"n": {"$gt": 9007199254740992.0}}),
            json!({"n": 9007199254740993_u64})
        ));
        assert!(!hit(
            json!({"n": {"$lt": 18446744073709551615_u64}}),
            json!({"n": 1.8446744073709552e19})
        ));
        assert!(hit(json!({"n": {"$gt": -1}}), json!({"n": u64::MAX})));
        assert!(hit(json!({"n": {"$lt": -2}}), json!({"n": -2.5})));
        assert!(!hit(json!({"n": {"$lt": -3}}), json!({"n": -2.5})));
    }

    #[test]
    fn comparisons_on_strings_and_bools_and_arrays() {
        assert!(hit(
            json!({"name": {"$gt": "a", "$lte": "b"}}),
            json!({"name": "b"})
        ));
        assert!(!hit(json!({"name": {"$gt": "b"}}), json!({"name": "B"})));
        assert!(hit(json!({"ok": {"$gt": false}}), json!({"ok": true})));
        // Any element of an array field may satisfy the comparison.
        assert!(hit(json!({"scores": {"$gt": 8}}), json!({"scores": [1, 9]})));
        assert!(!hit(json!({"scores": {"$gt": 9}}), json!({"scores": [1, 9]})));
    }

    #[test]
    fn date_comparisons() {
        let d = json!({"lm": date("2026-03-01T10:00:00.000Z"), "createdAt": "2026-01-15T08:30:00.000Z"});
        assert!(hit(
            json!({"lm": {"$gt": date("2026-02-28T23:59:59.999Z")}}),
            d.clone()
        ));
        assert!(!hit(
            json!({"lm": {"$lt": date("2026-03-01T10:00:00.000Z")}}),
            d.clone()
        ));
        assert!(hit(
            json!({"lm": {"$lte": date("2026-03-01T10:00:00Z")}}),
            d.clone()
        ));
        assert!(
            hit(json!({"lm": date("2026-03-01T18:00:00+08:00")}), d.clone()),
            "same instant"
        );
        // Documents may hold plain ISO strings for createdAt/updatedAt.
        assert!(hit(
            json!({"createdAt": {"$gte": date("2026-01-15T08:30:00.000Z")}}),
            d.clone()
        ));
        assert!(hit(json!({"createdAt": date("2026-01-15T08:30:00Z")}), d.clone()));
        assert!(hit(
            json!({"createdAt": {"$lt": date("2026-01-15T16:31:00+08:00")}}),
            d.clone()
        ));
        assert!(!hit(
            json!({"createdAt": {"$lt": date("2026-01-15T16:29:00+08:00")}}),
            d.clone()
        ));
        assert!(hit(
            json!({"createdAt": {"$lt": "2026-02-01T00:00:00Z"}}),
            d.clone()
        ));
        // A date never compares with a number, and a broken Date only equals itself.
        assert!(!hit(json!({"lm": {"$gt": 0}}), d.clone()));
        assert!(hit(
            json!({"x": date("nonsense")}),
            json!({"x": date("nonsense")})
        ));
        assert!(!hit(
            json!({"x": {"$lt": date("2030-01-01T00:00:00Z")}}),
            json!({"x": date("nonsense")})
        ));
    }

    #[test]
    fn iso_parsing() {
        let at = |s: &str| parse_iso(s).map(|i| i.0);
        assert_eq!(at("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(at("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(at("1970-01-01T08:00:00+08:00"), Some(0));
        assert_eq!(at("1970-01-01T08:00+0800"), Some(0));
        assert_eq!(at("1969-12-31 23:00:00-01"), Some(0));
        assert_eq!(at("2000-02-29T00:00:00Z"), Some(951_782_400_000_000_000));
        for bad in [
            "2001-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01",
            "2026-01-01T24:00Z",
            "x",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00Zjunk",
            "２０２６-01-01T00:00Z",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn in_and_nin() {
        let d = json!({"name": "b", "m": ["x", "y"]});
        assert!(hit(json!({"name": {"$in": ["a", "b"]}}), d.clone()));
        assert!(!hit(json!({"name": {"$in": ["a", "c"]}}), d.clone()));
        assert!(!hit(json!({"name": {"$in": []}}), d.clone()));
        assert!(hit(json!({"m": {"$in": ["q", "y"]}}), d.clone()));
        assert!(hit(json!({"name": {"$nin": ["a", "c"]}}), d.clone()));
        assert!(!hit(json!({"name": {"$nin": ["b"]}}), d.clone()));
        assert!(!hit(json!({"m": {"$nin": ["y"]}}), d.clone()));
        assert!(hit(json!({"missing": {"$nin": ["y"]}}), d.clone()));
        assert!(!hit(json!({"missing": {"$in": ["y"]}}), d.clone()));
        assert!(hit(json!({"missing": {"$in": ["y", null]}}), d));
        assert_eq!(
            err(json!({"name": {"$in": "a"}})),
            bad_operand("$in", "expected an array")
        );
        assert!(matches!(
            err(json!({"name": {"$nin": {}}})),
            QueryError::BadOperand { .. }
        ));
    }

    #[test]
    fn all_and_contains_members() {
        let d = json!({"m": ["Tom", "Jerry", "Spike"]});
        // containsMembers(['Jerry'])
        assert!(hit(json!({"m": {"$all": ["Jerry"]}}), d.clone()));
        assert!(hit(json!({"m": {"$all": ["Jerry", "Tom"]}}), d.clone()));
        assert!(!hit(json!({"m": {"$all": ["Jerry", "Tyke"]}}), d.clone()));
        assert!(!hit(json!({"m": {"$all": ["Jerry"]}}), json!({})));
        assert!(hit(json!({"m": {"$all": []}}), d.clone()));
        assert!(!hit(json!({"m": {"$all": []}}), json!({})));
        assert!(matches!(
            err(json!({"m": {"$all": "Jerry"}})),
            QueryError::BadOperand { .. }
        ));
    }

    #[test]
    fn with_members_query() {
        // withMembers(['Tom', 'Jerry']) sends $size and $all on `m`.
        let f = filter(json!({"m": {"$size": 2, "$all": ["Tom", "Jerry"]}}));
        assert!(f.matches(&doc(json!({"m": ["Jerry", "Tom"]}))));
        assert!(!f.matches(&doc(json!({"m": ["Jerry", "Tom", "Spike"]}))));
        assert!(!f.matches(&doc(json!({"m": ["Jerry", "Spike"]}))));
        assert_eq!(f.required_members(), vec!["Tom".to_owned(), "Jerry".to_owned()]);
        // withMembers([]) finds member-less conversations.
        let empty = filter(json!({"m": {"$size": 0, "$all": []}}));
        assert!(empty.matches(&doc(json!({"m": []}))));
        assert!(!empty.matches(&doc(json!({"m": ["a"]}))));
    }

    #[test]
    fn size() {
        assert!(hit(json!({"m": {"$size": 2}}), json!({"m": [1, 2]})));
        assert!(hit(json!({"m": {"$size": 2.0}}), json!({"m": [1, 2]})));
        assert!(!hit(json!({"m": {"$size": 1}}), json!({"m": [1, 2]})));
        assert!(!hit(json!({"m": {"$size": 0}}), json!({})));
        assert!(!hit(json!({"m": {"$size": 1}}), json!({"m": "a"})));
        for bad in [json!(-1), json!(1.5), json!("2"), json!(null), json!(1e300)] {
            assert!(matches!(
                err(json!({"m": {"$size": bad}})),
                QueryError::BadOperand { .. }
            ));
        }
    }

    #[test]
    fn exists() {
        let d = json!({"a": null, "b": 0, "attr": {"c": false}});
        assert!(
            hit(json!({"a": {"$exists": true}}), d.clone()),
            "null still exists"
        );
        assert!(hit(json!({"b": {"$exists": true}}), d.clone()));
        assert!(hit(json!({"attr.c": {"$exists": true}}), d.clone()));
        assert!(hit(json!({"z": {"$exists": false}}), d.clone()));
        assert!(!hit(json!({"z": {"$exists": true}}), d.clone()));
        assert!(!hit(json!({"b": {"$exists": false}}), d));
        assert!(matches!(
            err(json!({"a": {"$exists": 1}})),
            QueryError::BadOperand { .. }
        ));
    }

    #[test]
    fn contains_starts_ends_with_special_characters() {
        let d = json!({"name": "a.*+?(b)[c]{2}|^$ \\ end"});
        for needle in [".*+?(", "(b)[c]", "{2}|^$", "\\ end", " "] {
            assert!(
                hit(json!({"name": {"$regex": sdk_quote(needle)}}), d.clone()),
                "contains {needle}"
            );
        }
        assert!(
            !hit(json!({"name": {"$regex": sdk_quote("a.*z")}}), d.clone()),
            "quoted .* is literal"
        );
        assert!(hit(
            json!({"name": {"$regex": format!("^{}", sdk_quote("a.*+"))}}),
            d.clone()
        ));
        assert!(!hit(
            json!({"name": {"$regex": format!("^{}", sdk_quote(".*+"))}}),
            d.clone()
        ));
        assert!(hit(
            json!({"name": {"$regex": format!("{}$", sdk_quote("\\ end"))}}),
            d.clone()
        ));
        assert!(!hit(
            json!({"name": {"$regex": format!("{}$", sdk_quote("\\ en"))}}),
            d.clone()
        ));
        assert!(hit(
            json!({"name": {"$regex": sdk_quote("中文")}}),
            json!({"name": "说中文吧"})
        ));
    }

    #[test]
    fn quote_containing_backslash_e() {
        // The SDK re-quotes `\E` as `\E\\E\Q`, which must still mean the literal text.
        let pattern = sdk_quote("x\\Ey");
        assert_eq!(pattern, "\\Qx\\E\\\\E\\Qy\\E");
        assert!(hit(
            json!({"name": {"$regex": pattern.clone()}}),
            json!({"name": "-x\\Ey-"})
        ));
        assert!(!hit(json!({"name": {"$regex": pattern}}), json!({"name": "xEy"})));
    }

    #[test]
    fn java_quote_translation() {
        assert_eq!(translate_java_quotes("\\Qa.b\\E"), "a\\x{2e}b");
        assert_eq!(
            translate_java_quotes("\\Q.x"),
            "\\x{2e}x",
            "unterminated runs to the end"
        );
        assert_eq!(
            translate_java_quotes("\\\\Q."),
            "\\\\Q.",
            "escaped backslash, not a quote"
        );
        assert_eq!(translate_java_quotes("a\\Eb"), "ab", "stray \\E dropped");
        assert_eq!(translate_java_quotes("\\d+\\"), "\\d+\\");
        // Quoted text stays literal inside a class and under the `x` option.
        assert!(hit(
            json!({"s": {"$regex": "^[\\Q-]\\E]+$"}}),
            json!({"s": "-]-"})
        ));
        assert!(!hit(json!({"s": {"$regex": "^[\\Q-]\\E]+$"}}), json!({"s": "a"})));
        assert!(hit(
            json!({"s": {"$regex": "^\\Qa b#\\E$", "$options": "x"}}),
            json!({"s": "a b#"})
        ));
    }

    #[test]
    fn matches_with_options() {
        let d = json!({"name": "Hello\nWorld"});
        assert!(!hit(json!({"name": {"$regex": "hello"}}), d.clone()));
        assert!(hit(
            json!({"name": {"$regex": "hello", "$options": "i"}}),
            d.clone()
        ));
        assert!(
            hit(json!({"name": {"$options": "i", "$regex": "^HELLO"}}), d.clone()),
            "either key order"
        );
        assert!(!hit(json!({"name": {"$regex": "^World"}}), d.clone()));
        assert!(hit(
            json!({"name": {"$regex": "^World", "$options": "m"}}),
            d.clone()
        ));
        assert!(hit(
            json!({"name": {"$regex": "^world$", "$options": "im"}}),
            d.clone()
        ));
        assert!(!hit(json!({"name": {"$regex": "o.W"}}), d.clone()));
        assert!(hit(
            json!({"name": {"$regex": "o.W", "$options": "s"}}),
            d.clone()
        ));
        assert!(hit(
            json!({"name": {"$regex": "H e l l o", "$options": "x"}}),
            d.clone()
        ));
        // JS `regex.source` escapes `/`.
        assert!(hit(json!({"url": {"$regex": "^a\\/b$"}}), json!({"url": "a/b"})));
        // Non-strings never match; arrays match through any string element.
        assert!(!hit(json!({"n": {"$regex": "1"}}), json!({"n": 1})));
        assert!(!hit(json!({"n": {"$regex": ".*"}}), json!({})));
        assert!(hit(
            json!({"m": {"$regex": "^J"}}),
            json!({"m": ["Tom", "Jerry"]})
        ));
    }

    #[test]
    fn regex_errors() {
        assert!(matches!(
            err(json!({"a": {"$regex": "("}})),
            QueryError::BadRegex(_)
        ));
        assert!(
            matches!(err(json!({"a": {"$regex": "(?=x)"}})), QueryError::BadRegex(_)),
            "no lookahead"
        );
        assert!(
            matches!(err(json!({"a": {"$regex": "(a)\\1"}})), QueryError::BadRegex(_)),
            "no backrefs"
        );
        assert!(matches!(
            err(json!({"a": {"$regex": "a", "$options": "g"}})),
            QueryError::BadRegex(_)
        ));
        assert!(matches!(
            err(json!({"a": {"$regex": "a".repeat(MAX_REGEX_BYTES + 1)}})),
            QueryError::BadRegex(_)
        ));
        assert!(parse_where(&json!({"a": {"$regex": "a".repeat(MAX_REGEX_BYTES)}})).is_ok());
        // Blows the compiled-size budget rather than memory.
        assert!(matches!(
            err(json!({"a": {"$regex": "\\w{1000}\\w{1000}\\w{1000}"}})),
            QueryError::BadRegex(_)
        ));
        assert_eq!(
            err(json!({"a": {"$options": "i"}})),
            bad_operand("$options", "requires $regex")
        );
        assert!(matches!(
            err(json!({"a": {"$regex": 1}})),
            QueryError::BadOperand { .. }
        ));
        let many: Map<String, Value> = (0..=MAX_REGEXES)
            .map(|i| (format!("f{i}"), json!({"$regex": "a"})))
            .collect();
        assert!(matches!(err(Value::Object(many)), QueryError::BadRegex(_)));
    }

    #[test]
    fn catastrophic_pattern_is_linear() {
        let f = filter(json!({"s": {"$regex": "^(a+)+$"}}));
        let long = format!("{}b", "a".repeat(100_000));
        assert!(!f.matches(&doc(json!({ "s": long }))));
    }

    #[test]
    fn and_or_nor_nesting() {
        let d = json!({"name": "x", "n": 3, "tr": false});
        assert!(hit(
            json!({"$and": [{"name": "x"}, {"n": {"$gt": 2}}]}),
            d.clone()
        ));
        assert!(!hit(
            json!({"$and": [{"name": "x"}, {"n": {"$gt": 3}}]}),
            d.clone()
        ));
        assert!(hit(json!({"$or": [{"name": "y"}, {"n": 3}]}), d.clone()));
        assert!(!hit(json!({"$or": [{"name": "y"}, {"n": 4}]}), d.clone()));
        assert!(hit(json!({"$nor": [{"name": "y"}, {"n": 4}]}), d.clone()));
        assert!(!hit(json!({"$nor": [{"name": "x"}]}), d.clone()));
        // ConversationQuery.or(ConversationQuery.and(a, b), c), plus a sibling field.
        let nested = json!({"$or": [{"$and": [{"name": "x"}, {"tr": true}]}, {"$and": [{"n": {"$lt": 5}}, {"$or": [{"tr": false}]}]}], "name": "x"});
        assert!(hit(nested.clone(), d.clone()));
        assert!(!hit(nested, json!({"name": "x", "n": 9, "tr": false})));
        assert!(hit(json!({}), d.clone()));
        assert!(parse_where(&Value::Null).is_ok_and(|f| f.matches(&doc(d))));
    }

    #[test]
    fn not_operator() {
        assert!(hit(
            json!({"name": {"$not": {"$regex": "^a"}}}),
            json!({"name": "ba"})
        ));
        assert!(!hit(
            json!({"name": {"$not": {"$regex": "^a"}}}),
            json!({"name": "ab"})
        ));
        assert!(hit(json!({"name": {"$not": {"$regex": "^a"}}}), json!({})));
        assert!(hit(json!({"n": {"$not": {"$gt": 1, "$lt": 5}}}), json!({"n": 7})));
        assert!(matches!(
            err(json!({"n": {"$not": 3}})),
            QueryError::BadOperand { .. }
        ));
    }

    #[test]
    fn malformed_queries_are_rejected() {
        assert_eq!(err(json!([1])), QueryError::NotAnObject);
        assert_eq!(err(json!("name")), QueryError::NotAnObject);
        assert_eq!(err(json!({"$and": [1]})), QueryError::NotAnObject);
        assert!(matches!(err(json!({"$and": []})), QueryError::BadOperand { .. }));
        assert!(matches!(
            err(json!({"$or": {"a": 1}})),
            QueryError::BadOperand { .. }
        ));
        assert_eq!(
            err(json!({"$where": "1"})),
            QueryError::UnknownOperator("$where".into())
        );
        assert_eq!(
            err(json!({"a": {"$near": [0, 0]}})),
            QueryError::UnknownOperator("$near".into())
        );
        assert_eq!(
            err(json!({"a": {"$elemMatch": {}}})),
            QueryError::UnknownOperator("$elemMatch".into())
        );
        assert!(matches!(
            err(json!({"a": {"$gt": 1, "b": 2}})),
            QueryError::BadOperand { .. }
        ));
        let mut deep = json!({"a": 1});
        for _ in 0..=MAX_DEPTH {
            deep = json!({ "$and": [deep] });
        }
        assert_eq!(err(deep), QueryError::TooDeep(MAX_DEPTH));
        // The message names the problem.
        assert_eq!(
            err(json!({"a": {"$in": 1}})).to_string(),
            "bad operand for $in: expected an array"
        );
    }

    #[test]
    fn object_ids_from_query_shapes() {
        let ids = |w: Value| filter(w).object_ids();
        let s = |v: &[&str]| Some(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        // getConversation(id) / getConversations(ids)
        assert_eq!(ids(json!({"objectId": "c1"})), s(&["c1"]));
        assert_eq!(
            ids(json!({"objectId": {"$in": ["c1", "c2", "c1"]}})),
            s(&["c1", "c2"])
        );
        assert_eq!(ids(json!({"objectId": {"$in": []}})), s(&[]));
        assert_eq!(
            ids(json!({"objectId": {"$in": ["c1", "c2"]}, "tr": true})),
            s(&["c1", "c2"])
        );
        assert_eq!(
            ids(json!({"$and": [{"tr": true}, {"objectId": {"$in": ["c1", "c2"]}}]})),
            s(&["c1", "c2"])
        );
        assert_eq!(
            ids(json!({"$and": [{"objectId": {"$in": ["c1", "c2"]}}, {"objectId": "c2"}]})),
            s(&["c2"])
        );
        assert_eq!(
            ids(json!({"objectId": {"$in": ["a", "b"], "$eq": "b"}})),
            s(&["b"])
        );
        assert_eq!(
            ids(json!({"$or": [{"objectId": "a"}, {"objectId": {"$in": ["b", "a"]}}]})),
            s(&["a", "b"])
        );
        assert_eq!(ids(json!({"$or": [{"objectId": "a"}, {"tr": true}]})), None);
        assert_eq!(ids(json!({"objectId": {"$ne": "a"}})), None);
        assert_eq!(ids(json!({"objectId": {"$in": ["a", null]}})), None);
        assert_eq!(ids(json!({"$nor": [{"objectId": "a"}]})), None);
        assert_eq!(ids(json!({"objectId": 5})), None);
        assert_eq!(ids(json!({"tr": true})), None);
    }

    #[test]
    fn required_members_from_query_shapes() {
        let req = |w: Value| filter(w).required_members();
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(req(json!({"m": "Jerry"})), v(&["Jerry"]));
        assert_eq!(req(json!({"m": {"$all": ["Jerry"]}})), v(&["Jerry"]));
        assert_eq!(req(json!({"m": {"$in": ["Jerry"]}})), v(&["Jerry"]));
        assert_eq!(req(json!({"m": {"$in": ["Jerry", "Tom"]}})), v(&[]));
        assert_eq!(req(json!({"m": {"$eq": "Tom"}, "tr": true})), v(&["Tom"]));
        assert_eq!(req(json!({"m": ["a", "b"]})), v(&["a", "b"]));
        assert_eq!(
            req(json!({"$and": [{"m": "a"}, {"m": {"$all": ["b", "a"]}}]})),
            v(&["a", "b"])
        );
        assert_eq!(
            req(json!({"$or": [{"m": {"$all": ["a", "b"]}}, {"m": "b"}]})),
            v(&["b"])
        );
        assert_eq!(req(json!({"$or": [{"m": "a"}, {"tr": true}]})), v(&[]));
        assert_eq!(req(json!({"m": {"$ne": "a"}})), v(&[]));
        assert_eq!(req(json!({"m": {"$nin": ["a"]}})), v(&[]));
        assert_eq!(req(json!({"m": {"$not": {"$all": ["a"]}}})), v(&[]));
        assert_eq!(req(json!({"$nor": [{"m": "a"}]})), v(&[]));
        assert_eq!(req(json!({"attr.m": "a"})), v(&[]));
    }

    #[test]
    fn parse_sort_strings() {
        let k = |f: &str, d: bool| SortKey {
            field: f.to_owned(),
            descending: d,
        };
        assert_eq!(parse_sort("-lm,name"), vec![k("lm", true), k("name", false)]);
        assert_eq!(
            parse_sort(" -lm , , name ,- ,+x,"),
            vec![k("lm", true), k("name", false), k("x", false)]
        );
        assert_eq!(parse_sort(""), vec![]);
        assert_eq!(parse_sort("attr.rank"), vec![k("attr.rank", false)]);
    }

    fn sorted(docs: Vec<Value>, sort: &str) -> Vec<Value> {
        let keys = parse_sort(sort);
        let mut docs: Vec<Map<String, Value>> = docs.into_iter().map(doc).collect();
        docs.sort_by(|a, b| compare(a, b, &keys));
        docs.into_iter()
            .map(|m| m.get("id").cloned().unwrap_or(Value::Null))
            .collect()
    }

    #[test]
    fn prepared_sort_values_order_as_the_documents_do() {
        let docs = vec![
            json!({"id": 1, "lm": date("2026-01-02T00:00:00.000Z"), "name": "b", "attr": {"rank": 2}}),
            json!({"id": 2, "lm": "2026-01-02T08:00:00+08:00", "name": "a", "createdAt": "2026-01-01T00:00:00Z"}),
            json!({"id": 3, "name": 7, "attr": {"rank": "x"}, "createdAt": date("2025-01-01T00:00:00Z")}),
            json!({"id": 4, "lm": date("2025-12-31T23:59:59.999Z"), "name": null, "attr": {"rank": 2.0}}),
            json!({"id": 5, "name": ["a", 1], "attr": {"rank": true}, "lm": "not a date"}),
            json!({"id": 6, "name": {"k": 1}, "createdAt": "2026-01-01T00:00:00.000Z"}),
            json!({"id": 7, "name": "a", "lm": date("2026-01-02T00:00:00.000Z")}),
        ];
        for sort in [
            "-lm,id",
            "name,-name,id",
            "attr.rank,-createdAt,id",
            "missing,-id",
            "lm,name",
            "lm,lm.iso,id",
            "lm,lm.__type,-id",
        ] {
            let keys = parse_sort(sort);
            let mut prepared: Vec<(Value, SortValues)> = docs
                .iter()
                .map(|d| {
                    let mut taken = doc(d.clone());
                    (d["id"].clone(), SortValues::take(&mut taken, &keys))
                })
                .collect();
            prepared.sort_by(|a, b| compare_prepared(&a.1, &b.1, &keys));
            let ids: Vec<Value> = prepared.into_iter().map(|(id, _)| id).collect();
            assert_eq!(ids, sorted(docs.clone(), sort), "{sort}");
        }
    }

    #[test]
    fn sort_by_last_message_with_missing_lm() {
        let docs = vec![
            json!({"id": 1, "lm": date("2026-01-02T00:00:00.000Z")}),
            json!({"id": 2}),
            json!({"id": 3, "lm": date("2026-01-03T00:00:00.000Z")}),
            json!({"id": 4, "lm": "2026-01-02T12:00:00Z"}),
            json!({"id": 5}),
        ];
        assert_eq!(
            sorted(docs.clone(), "-lm"),
            vec![json!(3), json!(4), json!(1), json!(2), json!(5)]
        );
        assert_eq!(
            sorted(docs, "lm"),
            vec![json!(2), json!(5), json!(1), json!(4), json!(3)]
        );
    }

    #[test]
    fn sort_multiple_keys_and_stability() {
        let docs = vec![
            json!({"id": 1, "g": 1, "name": "b"}),
            json!({"id": 2, "g": 2, "name": "a"}),
            json!({"id": 3, "g": 1.0, "name": "a"}),
            json!({"id": 4, "g": 1, "name": "b"}),
        ];
        assert_eq!(
            sorted(docs.clone(), "g,-name"),
            vec![json!(1), json!(4), json!(3), json!(2)]
        );
        assert_eq!(
            sorted(docs.clone(), "-g"),
            vec![json!(2), json!(1), json!(3), json!(4)]
        );
        assert_eq!(sorted(docs, ""), vec![json!(1), json!(2), json!(3), json!(4)]);
    }

    #[test]
    fn sort_mixed_types_and_nested_fields() {
        let docs = vec![
            json!({"id": 1, "v": {"a": 1}}),
            json!({"id": 2, "v": [1]}),
            json!({"id": 3, "v": date("2020-01-01T00:00:00Z")}),
            json!({"id": 4, "v": "text"}),
            json!({"id": 5, "v": 2.5}),
            json!({"id": 6, "v": true}),
            json!({"id": 7, "v": null}),
            json!({"id": 8}),
            json!({"id": 9, "v": -3}),
        ];
        let order = sorted(docs, "v");
        assert_eq!(order, [8, 7, 6, 9, 5, 4, 3, 2, 1].map(|i| json!(i)).to_vec());
        let nested = vec![
            json!({"id": 1, "attr": {"rank": 2}}),
            json!({"id": 2, "attr": {"rank": 1}}),
        ];
        assert_eq!(sorted(nested, "attr.rank"), vec![json!(2), json!(1)]);
    }

    // ---- property tests: arbitrary JSON never panics, and the index hints stay sound ----

    use proptest::prelude::*;

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..5).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e3f64..1e3).prop_map(Value::from),
            prop::sample::select(vec![
                "a",
                "b",
                "Tom",
                "Jerry",
                "c1",
                "c2",
                "",
                "2026-01-01T00:00:00Z"
            ])
            .prop_map(Value::from),
            "[a-c.*+?()\\[\\]\\\\QE^$|{}0-9-]{0,8}".prop_map(Value::from),
            prop::sample::select(vec![
                "2026-01-01T00:00:00Z",
                "2025-06-01T12:00:00.5+08:00",
                "junk"
            ])
            .prop_map(|iso| json!({"__type": "Date", "iso": iso})),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "$and",
            "$or",
            "$nor",
            "$eq",
            "$ne",
            "$lt",
            "$lte",
            "$gt",
            "$gte",
            "$in",
            "$nin",
            "$all",
            "$exists",
            "$regex",
            "$options",
            "$size",
            "$not",
            "$bogus",
            "m",
            "objectId",
            "tr",
            "name",
            "attr",
            "attr.color",
            "m.0",
            "lm",
            "__type",
            "iso",
            "color",
        ])
        .prop_map(str::to_owned)
    }

    fn json_value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// A stored conversation: string `objectId`, `m` an array of strings, anything else random.
    fn conversation() -> impl Strategy<Value = Map<String, Value>> {
        (
            prop::sample::select(vec!["c1", "c2", "c3"]),
            prop::option::weighted(
                0.8,
                prop::sample::subsequence(vec!["a", "b", "Tom", "Jerry"], 0..4),
            ),
            prop::option::weighted(0.8, any::<bool>()),
            prop::collection::vec((key(), json_value()), 0..4),
        )
            .prop_map(|(id, members, tr, extra)| {
                let mut d: Map<String, Value> = extra
                    .into_iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "objectId" | "m" | "tr"))
                    .collect();
                d.insert("objectId".into(), json!(id));
                if let Some(tr) = tr {
                    d.insert("tr".into(), json!(tr));
                }
                if let Some(members) = members {
                    d.insert("m".into(), json!(members));
                }
                d
            })
    }

    fn small_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            6 => prop::sample::select(vec!["a", "Tom", "c1", "c2"]).prop_map(Value::from),
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::from),
            1 => (0i64..3).prop_map(Value::from),
            1 => prop::collection::vec(
                prop::sample::select(vec!["a", "Tom", "c1"]).prop_map(Value::from), 0..3
            ).prop_map(Value::Array),
        ]
    }

    /// What one field may be constrained by: mostly well-formed operators, as the SDK builds them.
    fn field_condition() -> impl Strategy<Value = Value> {
        let list = || prop::collection::vec(small_value(), 0..4).prop_map(Value::Array);
        let single = |op: &'static str| small_value().prop_map(move |v| json!({ op: v }));
        prop_oneof![
            3 => small_value(),
            1 => single("$eq"),
            1 => single("$ne"),
            1 => single("$lt"),
            1 => single("$gte"),
            2 => list().prop_map(|v| json!({"$in": v})),
            1 => list().prop_map(|v| json!({"$nin": v})),
            2 => list().prop_map(|v| json!({"$all": v})),
            1 => (0usize..4).prop_map(|n| json!({"$size": n})),
            1 => any::<bool>().prop_map(|b| json!({"$exists": b})),
            1 => prop::sample::select(vec!["^c", "\\Qa\\E", "o$", "(?:J|T)"])
                .prop_map(|r| json!({"$regex": r, "$options": "i"})),
            1 => list().prop_map(|v| json!({"$not": {"$in": v}})),
        ]
    }

    fn flat_clause(len: std::ops::Range<usize>) -> impl Strategy<Value = Value> {
        let field = prop::sample::select(vec!["m", "m", "objectId", "objectId", "tr", "name", "m.0"]);
        prop::collection::vec((field, field_condition()), len)
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
    }

    /// Mostly small queries (so many of them match something), some nested through logic operators.
    fn where_clause() -> impl Strategy<Value = Value> {
        let combined = |inner: BoxedStrategy<Value>| {
            (
                prop::sample::select(vec!["$and", "$or", "$or", "$nor"]),
                prop::collection::vec(inner, 1..3),
                flat_clause(0..2),
            )
                .prop_map(|(op, list, mut rest)| {
                    if let Value::Object(m) = &mut rest {
                        m.insert(op.to_owned(), Value::Array(list));
                    }
                    rest
                })
        };
        let flat = flat_clause(1..3).boxed();
        prop_oneof![
            3 => flat.clone(),
            2 => combined(flat.clone()),
            1 => combined(combined(flat).boxed()),
        ]
    }

    /// SDK-shaped queries on the two indexed fields, to exercise `object_ids`/`required_members`.
    fn index_query() -> impl Strategy<Value = Value> {
        let ids = vec!["c1", "c2", "c3"];
        let members = vec!["a", "b", "Tom", "Jerry"];
        let id_cond = prop_oneof![
            prop::sample::select(ids.clone()).prop_map(|s| json!(s)),
            prop::sample::subsequence(ids.clone(), 0..=3).prop_map(|l| json!({"$in": l})),
            prop::sample::select(ids).prop_map(|s| json!({"$ne": s})),
        ];
        let member_cond = prop_oneof![
            prop::sample::select(members.clone()).prop_map(|s| json!(s)),
            prop::sample::subsequence(members.clone(), 0..=2).prop_map(|l| json!({"$all": l})),
            prop::sample::subsequence(members.clone(), 1..=2).prop_map(|l| json!({"$in": l})),
            (prop::sample::subsequence(members.clone(), 0..=2), 0usize..4)
                .prop_map(|(l, n)| json!({"$size": n, "$all": l})),
            prop::sample::subsequence(members, 1..=2).prop_map(|l| json!({"$nin": l})),
        ];
        let clause = (
            prop::option::weighted(0.6, id_cond),
            prop::option::weighted(0.7, member_cond),
            prop::option::weighted(0.2, any::<bool>()),
        )
            .prop_map(|(id, m, tr)| {
                let mut w = Map::new();
                if let Some(id) = id {
                    w.insert("objectId".into(), id);
                }
                if let Some(m) = m {
                    w.insert("m".into(), m);
                }
                if let Some(tr) = tr {
                    w.insert("tr".into(), json!(tr));
                }
                Value::Object(w)
            });
        clause.prop_recursive(2, 12, 3, |inner| {
            (
                prop::sample::select(vec!["$and", "$and", "$or", "$nor"]),
                prop::collection::vec(inner, 1..4),
            )
                .prop_map(|(op, list)| json!({ op: list }))
        })
    }

    /// Matching documents must lie inside the `object_ids` candidates and hold every required member.
    fn check_hints(w: &Value, docs: &[Map<String, Value>]) -> Result<(), TestCaseError> {
        if let Ok(f) = parse_where(w) {
            let ids = f.object_ids();
            let members = f.required_members();
            // As the server uses it: the keys it fills itself left out of the pre-filter, which
            // is then tested on the document without them (its custom attributes).
            let generated = ["objectId", "m", "tr"];
            let prefilter = f.conditions_on(|key| !generated.contains(&key));
            for d in docs {
                let mut read = d.clone();
                read.retain(|key, _| f.reads_key(key));
                prop_assert_eq!(
                    f.matches(&read),
                    f.matches(d),
                    "{} on the keys it reads of {:?}",
                    w,
                    d
                );
                if f.matches(d) {
                    let mut attrs = d.clone();
                    attrs.retain(|key, _| !generated.contains(&key.as_str()));
                    prop_assert!(
                        prefilter.matches(&attrs),
                        "{w} matched {d:?}, its pre-filter did not"
                    );
                    if let Some(ids) = &ids {
                        let id = d.get("objectId").and_then(Value::as_str).unwrap_or_default();
                        prop_assert!(ids.iter().any(|x| x == id), "{w} matched {id} outside {ids:?}");
                    }
                    let m = d.get("m").and_then(Value::as_array).cloned().unwrap_or_default();
                    for member in &members {
                        prop_assert!(m.contains(&json!(member)), "{w} matched {d:?} without {member}");
                    }
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]
        #[test]
        fn index_hints_are_sound_for_sdk_shaped_queries(
            w in index_query(),
            docs in prop::collection::vec(conversation(), 1..8),
        ) {
            check_hints(&w, &docs)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_where_never_panics_and_hints_are_sound(
            w in prop_oneof![json_value(), where_clause(), index_query()],
            docs in prop::collection::vec(conversation(), 1..8),
        ) {
            check_hints(&w, &docs)?;
        }

        #[test]
        fn arbitrary_documents_never_panic(
            w in json_value(),
            d in prop::collection::vec((key(), json_value()), 0..6),
        ) {
            let d: Map<String, Value> = d.into_iter().collect();
            if let Ok(f) = parse_where(&w) {
                let _ = f.matches(&d);
            }
        }

        #[test]
        fn compare_is_a_total_order(
            docs in prop::collection::vec(
                prop::collection::vec((key(), json_value()), 0..4)
                    .prop_map(|kv| kv.into_iter().collect::<Map<String, Value>>()),
                3..8),
            sort in "[-, ]{0,2}(m|lm|name|attr.color|tr)(,-?(objectId|m.0|name))?",
        ) {
            let keys = parse_sort(&sort);
            for a in &docs {
                prop_assert_eq!(compare(a, a, &keys), Ordering::Equal);
                for b in &docs {
                    let ab = compare(a, b, &keys);
                    prop_assert_eq!(ab, compare(b, a, &keys).reverse());
                    for c in &docs {
                        if ab != Ordering::Greater && compare(b, c, &keys) != Ordering::Greater {
                            prop_assert_ne!(compare(a, c, &keys), Ordering::Greater);
                        }
                    }
                }
            }
            let mut sorted = docs.clone();
            sorted.sort_by(|a, b| compare(a, b, &keys));
            prop_assert!(sorted.windows(2).all(|p| compare(&p[0], &p[1], &keys) != Ordering::Greater));
        }
    }
}
