//! A builder for the LeanCloud conversation query language (`conv/query`), with the operators of the
//! official `ConversationQuery` (PROTOCOL.md §3.4, §5.5).
//!
//! ```
//! use chinwag_core::ConversationQuery;
//!
//! let query = ConversationQuery::new()
//!     .contains_members(["Tom", "Jerry"])
//!     .starts_with("name", "Cat")
//!     .greater_than("level", 3)
//!     .descending("updatedAt")
//!     .limit(10)
//!     .compact(true);
//! assert_eq!(
//!     query.where_json(),
//!     r#"{"m":{"$all":["Tom","Jerry"]},"name":{"$regex":"^\\QCat\\E"},"level":{"$gt":3}}"#
//! );
//! assert_eq!(query.sort().as_deref(), Some("-updatedAt"));
//! assert_eq!(query.flag(), 1);
//! ```

use chinwag_protocol::json::{Map, Value};

use crate::sorted_set::SortedSet;

/// A conversation query: a `where` JSON object plus sort, limit, skip and the `flag` bits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConversationQuery {
    conditions: Map,
    sort: Vec<String>,
    limit: Option<i32>,
    skip: Option<i32>,
    compact: bool,
    refresh_last_messages: bool,
}

/// Quotes `text` for a regex the way the JS SDK does: `\Q…\E`, with any `\E` inside escaped.
pub fn quote(text: &str) -> String {
    ["\\Q", &text.replace("\\E", "\\E\\\\E\\Q"), "\\E"].concat()
}

impl ConversationQuery {
    /// An empty query (matches every conversation the server lets the client see).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `where[key][op] = value`, replacing a plain equality on `key` (as the JS `_addCondition`).
    fn condition(mut self, key: &str, op: &str, value: Value) -> Self {
        let entry = self
            .conditions
            .get_or_insert_with(key, || Value::Object(Map::new()));
        if !entry.is_object() || entry.get("__type").is_some() {
            *entry = Value::Object(Map::new());
        }
        if let Value::Object(map) = entry {
            map.insert(op.to_owned(), value);
        }
        self
    }

    /// `key == value`.
    pub fn equal_to(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.conditions.insert(key.to_owned(), value.into());
        self
    }
    /// `key != value` (`$ne`).
    pub fn not_equal_to(self, key: &str, value: impl Into<Value>) -> Self {
        self.condition(key, "$ne", value.into())
    }
    /// `key < value` (`$lt`).
    pub fn less_than(self, key: &str, value: impl Into<Value>) -> Self {
        self.condition(key, "$lt", value.into())
    }
    /// `key <= value` (`$lte`).
    pub fn less_than_or_equal_to(self, key: &str, value: impl Into<Value>) -> Self {
        self.condition(key, "$lte", value.into())
    }
    /// `key > value` (`$gt`).
    pub fn greater_than(self, key: &str, value: impl Into<Value>) -> Self {
        self.condition(key, "$gt", value.into())
    }
    /// `key >= value` (`$gte`).
    pub fn greater_than_or_equal_to(self, key: &str, value: impl Into<Value>) -> Self {
        self.condition(key, "$gte", value.into())
    }
    /// `key` is present (`$exists: true`).
    pub fn exists(self, key: &str) -> Self {
        self.condition(key, "$exists", Value::Bool(true))
    }
    /// `key` is absent (`$exists: false`).
    pub fn does_not_exist(self, key: &str) -> Self {
        self.condition(key, "$exists", Value::Bool(false))
    }
    /// `key` is one of `values` (`$in`).
    pub fn contained_in<V: Into<Value>>(self, key: &str, values: impl IntoIterator<Item = V>) -> Self {
        self.condition(key, "$in", values.into_iter().map(Into::into).collect())
    }
    /// `key` is none of `values` (`$nin`).
    pub fn not_contained_in<V: Into<Value>>(self, key: &str, values: impl IntoIterator<Item = V>) -> Self {
        self.condition(key, "$nin", values.into_iter().map(Into::into).collect())
    }
    /// The array `key` contains all of `values` (`$all`).
    pub fn contains_all<V: Into<Value>>(self, key: &str, values: impl IntoIterator<Item = V>) -> Self {
        self.condition(key, "$all", values.into_iter().map(Into::into).collect())
    }
    /// The members include all of `ids` (`$all` on `m`).
    pub fn contains_members<S: Into<String>>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.contains_all("m", ids.into_iter().map(Into::into).map(Value::String))
    }
    /// The members are exactly `ids` (`$size` and `$all` on `m`). Include the client's own id in `ids`
    /// to reproduce the JS `withMembers(ids, true)`.
    pub fn with_members<S: Into<String>>(self, ids: impl IntoIterator<Item = S>) -> Self {
        let ids: Vec<String> = ids
            .into_iter()
            .map(Into::into)
            .collect::<SortedSet<String>>()
            .into();
        let size = ids.len();
        self.condition("m", "$size", Value::from(size))
            .condition("m", "$all", ids.into_iter().collect())
    }
    /// The string `key` contains `text` literally.
    pub fn contains(self, key: &str, text: &str) -> Self {
        self.condition(key, "$regex", Value::String(quote(text)))
    }
    /// The string `key` starts with `text`.
    pub fn starts_with(self, key: &str, text: &str) -> Self {
        self.condition(key, "$regex", Value::String(["^", &quote(text)].concat()))
    }
    /// The string `key` ends with `text`.
    pub fn ends_with(self, key: &str, text: &str) -> Self {
        self.condition(key, "$regex", Value::String([quote(text).as_str(), "$"].concat()))
    }
    /// The string `key` matches `regex`; `options` as the JS flags (`i`, `m`), empty for none.
    pub fn matches(self, key: &str, regex: &str, options: &str) -> Self {
        let query = self.condition(key, "$regex", Value::String(regex.to_owned()));
        if options.is_empty() {
            query
        } else {
            query.condition(key, "$options", Value::String(options.to_owned()))
        }
    }
    /// The array `key` has `size` elements (`$size`).
    pub fn size_equal_to(self, key: &str, size: usize) -> Self {
        self.condition(key, "$size", Value::from(size))
    }
    /// All of `queries` (`$and`); their sort/limit/skip are ignored, as in the JS SDK.
    pub fn and(queries: impl IntoIterator<Item = ConversationQuery>) -> Self {
        Self::combine("$and", queries)
    }
    /// Any of `queries` (`$or`).
    pub fn or(queries: impl IntoIterator<Item = ConversationQuery>) -> Self {
        Self::combine("$or", queries)
    }
    fn combine(op: &str, queries: impl IntoIterator<Item = ConversationQuery>) -> Self {
        let parts: Vec<Value> = queries.into_iter().map(|q| Value::Object(q.conditions)).collect();
        let mut query = Self::new();
        query.conditions.insert(op.to_owned(), Value::Array(parts));
        query
    }
    /// Chat rooms only (`tr == true`).
    pub fn chat_rooms() -> Self {
        Self::new().equal_to("tr", true)
    }
    /// Service conversations only (`sys == true`).
    pub fn service_conversations() -> Self {
        Self::new().equal_to("sys", true)
    }
    /// At most `limit` results.
    pub fn limit(mut self, limit: i32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Skips the first `skip` results.
    pub fn skip(mut self, skip: i32) -> Self {
        self.skip = Some(skip);
        self
    }
    /// Sorts by `key` ascending, replacing earlier sort keys.
    pub fn ascending(mut self, key: &str) -> Self {
        self.sort = vec![key.to_owned()];
        self
    }
    /// Adds `key` ascending as a further sort key.
    pub fn add_ascending(mut self, key: &str) -> Self {
        self.sort.push(key.to_owned());
        self
    }
    /// Sorts by `key` descending, replacing earlier sort keys.
    pub fn descending(mut self, key: &str) -> Self {
        self.sort = vec![["-", key].concat()];
        self
    }
    /// Adds `key` descending as a further sort key.
    pub fn add_descending(mut self, key: &str) -> Self {
        self.sort.push(["-", key].concat());
        self
    }
    /// Results without member lists (flag bit 1).
    pub fn compact(mut self, enabled: bool) -> Self {
        self.compact = enabled;
        self
    }
    /// Results with fresh last-message fields (flag bit 2).
    pub fn with_last_messages_refreshed(mut self, enabled: bool) -> Self {
        self.refresh_last_messages = enabled;
        self
    }
    /// The `where` JSON sent in `convMessage.where.data`.
    pub fn where_json(&self) -> String {
        self.conditions.to_json()
    }
    /// The `sort` string (`key,-other`), if any.
    pub fn sort(&self) -> Option<String> {
        (!self.sort.is_empty()).then(|| self.sort.join(","))
    }
    /// The result limit, if set.
    pub fn limit_value(&self) -> Option<i32> {
        self.limit
    }
    /// The number of skipped results, if set.
    pub fn skip_value(&self) -> Option<i32> {
        self.skip
    }
    /// `flag = (withLastMessagesRefreshed ? 2 : 0) | (compact ? 1 : 0)`.
    pub fn flag(&self) -> i32 {
        (if self.refresh_last_messages { 2 } else { 0 }) | i32::from(self.compact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_build_the_where_object() {
        let q = ConversationQuery::new()
            .equal_to("name", "x")
            .not_equal_to("a", 1)
            .less_than("b", 2)
            .less_than_or_equal_to("b", 3)
            .greater_than_or_equal_to("c", 4)
            .exists("d")
            .does_not_exist("e")
            .contained_in("f", [1, 2])
            .not_contained_in("g", ["x"])
            .size_equal_to("h", 2)
            .matches("i", "a.b", "im")
            .ends_with("j", "z");
        let v = chinwag_protocol::json::parse(&q.where_json()).unwrap();
        assert_eq!(
            v,
            Value::from(
                serde_json::json!({"name":"x","a":{"$ne":1},"b":{"$lt":2,"$lte":3},"c":{"$gte":4},"d":{"$exists":true},
                "e":{"$exists":false},"f":{"$in":[1,2]},"g":{"$nin":["x"]},"h":{"$size":2},
                "i":{"$regex":"a.b","$options":"im"},"j":{"$regex":"\\Qz\\E$"}})
            )
        );
    }

    #[test]
    fn quote_escapes_the_end_marker() {
        assert_eq!(quote(r"a\Eb"), r"\Qa\E\\E\Qb\E");
        assert_eq!(
            ConversationQuery::new().contains("n", "x").where_json(),
            r#"{"n":{"$regex":"\\Qx\\E"}}"#
        );
    }

    #[test]
    fn with_members_sets_size_and_all_and_flags_combine() {
        let q = ConversationQuery::new()
            .with_members(["b", "a", "a"])
            .compact(true)
            .with_last_messages_refreshed(true);
        assert_eq!(q.where_json(), r#"{"m":{"$size":2,"$all":["a","b"]}}"#);
        assert_eq!(q.flag(), 3);
    }

    #[test]
    fn and_or_and_sort() {
        let q = ConversationQuery::or([
            ConversationQuery::new().equal_to("a", 1),
            ConversationQuery::new().equal_to("b", 2),
        ]);
        assert_eq!(q.where_json(), r#"{"$or":[{"a":1},{"b":2}]}"#);
        let q = ConversationQuery::and([ConversationQuery::chat_rooms()])
            .ascending("x")
            .add_descending("y");
        assert_eq!(q.where_json(), r#"{"$and":[{"tr":true}]}"#);
        assert_eq!(q.sort().as_deref(), Some("x,-y"));
    }
}
