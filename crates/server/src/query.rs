//! Conversation queries: the LeanCloud `where` JSON, `sort` strings and ordering.
//!
//! This is a minimal stand-in (equality, `$all` and `$in` only) until the full evaluator lands; it
//! keeps the same interface so that file replaces this one wholesale.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Why a `where` could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The `where` is not a JSON object.
    #[error("`where` must be a JSON object")]
    NotAnObject,
    /// An operator this evaluator does not support.
    #[error("unsupported operator {0}")]
    Unsupported(String),
}

/// One condition of a parsed `where`.
#[derive(Clone, Debug)]
enum Condition {
    Equals(String, Value),
    All(String, Vec<Value>),
    In(String, Vec<Value>),
}

/// A parsed `where`: every condition must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    conditions: Vec<Condition>,
}

/// Parses a `where` object.
pub fn parse_where(where_json: &Value) -> Result<Filter, QueryError> {
    let object = where_json.as_object().ok_or(QueryError::NotAnObject)?;
    let mut conditions = Vec::new();
    for (key, value) in object {
        match value {
            Value::Object(operators) if operators.keys().any(|k| k.starts_with('$')) => {
                for (operator, operand) in operators {
                    match (operator.as_str(), operand) {
                        ("$all", Value::Array(items)) => {
                            conditions.push(Condition::All(key.clone(), items.clone()))
                        }
                        ("$in", Value::Array(items)) => {
                            conditions.push(Condition::In(key.clone(), items.clone()))
                        }
                        _ => return Err(QueryError::Unsupported(operator.clone())),
                    }
                }
            }
            _ => conditions.push(Condition::Equals(key.clone(), value.clone())),
        }
    }
    Ok(Filter { conditions })
}

impl Filter {
    /// Whether `doc` satisfies every condition.
    pub fn matches(&self, doc: &Map<String, Value>) -> bool {
        self.conditions.iter().all(|condition| match condition {
            Condition::Equals(key, expected) => match doc.get(key) {
                Some(Value::Array(items)) if !expected.is_array() => items.contains(expected),
                Some(actual) => actual == expected,
                None => expected.is_null(),
            },
            Condition::All(key, wanted) => match doc.get(key) {
                Some(Value::Array(items)) => wanted.iter().all(|w| items.contains(w)),
                _ => false,
            },
            Condition::In(key, allowed) => doc.get(key).is_some_and(|v| allowed.contains(v)),
        })
    }
}

/// One key of a `sort` string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// The document key.
    pub field: String,
    /// Whether the key was prefixed with `-`.
    pub descending: bool,
}

/// Parses `"-lm,name"`.
pub fn parse_sort(sort: &str) -> Vec<SortKey> {
    sort.split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty() && *key != "-")
        .map(|key| match key.strip_prefix('-') {
            Some(field) => SortKey {
                field: field.to_owned(),
                descending: true,
            },
            None => SortKey {
                field: key.to_owned(),
                descending: false,
            },
        })
        .collect()
}

/// Orders two documents by `keys`; missing values sort first in ascending order.
pub fn compare(a: &Map<String, Value>, b: &Map<String, Value>, keys: &[SortKey]) -> Ordering {
    for key in keys {
        let ordering = compare_values(a.get(&key.field), b.get(&key.field));
        let ordering = if key.descending {
            ordering.reverse()
        } else {
            ordering
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(value: Option<&Value>) -> (u8, Option<f64>, String) {
        match value {
            None | Some(Value::Null) => (0, None, String::new()),
            Some(Value::Number(n)) => (1, n.as_f64(), String::new()),
            Some(Value::Object(o)) => (
                2,
                None,
                o.get("iso").and_then(Value::as_str).unwrap_or("").to_owned(),
            ),
            Some(other) => (3, None, other.to_string()),
        }
    }
    let (ra, na, sa) = rank(a);
    let (rb, nb, sb) = rank(b);
    ra.cmp(&rb)
        .then_with(|| na.partial_cmp(&nb).unwrap_or(Ordering::Equal))
        .then_with(|| sa.cmp(&sb))
}
