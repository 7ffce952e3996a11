//! [`Query`]: the core's conversation query builder, bound to a client.

use chinwag_core::json::Value;
use chinwag_core::{ConversationQuery, Response};

use crate::client::Client;
use crate::conversation::Conversation;
use crate::error::Result;
use crate::realtime::unexpected;

/// A conversation query of a client (the JS `ConversationQuery`), sorted by the server by last message
/// unless told otherwise. The common operators are here; [`map`](Self::map) reaches every operator of
/// [`ConversationQuery`].
///
/// ```no_run
/// # async fn demo(tom: chinwag::Client) -> chinwag::Result<()> {
/// for conversation in tom.query().contains_members(["Jerry"]).find().await? {
///     println!("{:?} {:?}", conversation.last_message_at(), conversation.members());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a query runs only when `find` is awaited"]
pub struct Query {
    client: Client,
    query: ConversationQuery,
}

impl Query {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            query: ConversationQuery::new(),
        }
    }

    /// Applies any [`ConversationQuery`] operator, e.g. `.map(|q| q.size_equal_to("m", 2))`.
    pub fn map(mut self, refine: impl FnOnce(ConversationQuery) -> ConversationQuery) -> Self {
        self.query = refine(self.query);
        self
    }

    /// The members include all of `ids`.
    pub fn contains_members<S: Into<String>>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.map(|q| q.contains_members(ids))
    }

    /// The members are exactly `ids`.
    pub fn with_members<S: Into<String>>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.map(|q| q.with_members(ids))
    }

    /// `key == value` (custom attributes, `name`, `objectId`, ...).
    pub fn equal_to(self, key: &str, value: impl Into<Value>) -> Self {
        self.map(|q| q.equal_to(key, value.into()))
    }

    /// `key != value`.
    pub fn not_equal_to(self, key: &str, value: impl Into<Value>) -> Self {
        self.map(|q| q.not_equal_to(key, value.into()))
    }

    /// `key > value`.
    pub fn greater_than(self, key: &str, value: impl Into<Value>) -> Self {
        self.map(|q| q.greater_than(key, value.into()))
    }

    /// `key < value`.
    pub fn less_than(self, key: &str, value: impl Into<Value>) -> Self {
        self.map(|q| q.less_than(key, value.into()))
    }

    /// The string `key` starts with `text`.
    pub fn starts_with(self, key: &str, text: &str) -> Self {
        self.map(|q| q.starts_with(key, text))
    }

    /// The string `key` contains `text`.
    pub fn contains(self, key: &str, text: &str) -> Self {
        self.map(|q| q.contains(key, text))
    }

    /// At most `limit` results.
    pub fn limit(self, limit: i32) -> Self {
        self.map(|q| q.limit(limit))
    }

    /// Skips the first `skip` results.
    pub fn skip(self, skip: i32) -> Self {
        self.map(|q| q.skip(skip))
    }

    /// Sorts ascending by `key`.
    pub fn ascending(self, key: &str) -> Self {
        self.map(|q| q.ascending(key))
    }

    /// Sorts descending by `key`.
    pub fn descending(self, key: &str) -> Self {
        self.map(|q| q.descending(key))
    }

    /// Leaves out member lists (compact results).
    pub fn compact(self, enabled: bool) -> Self {
        self.map(|q| q.compact(enabled))
    }

    /// Includes each conversation's last message.
    pub fn with_last_messages_refreshed(self, enabled: bool) -> Self {
        self.map(|q| q.with_last_messages_refreshed(enabled))
    }

    /// The query as built.
    pub fn as_core(&self) -> &ConversationQuery {
        &self.query
    }

    /// Runs the query.
    pub async fn find(self) -> Result<Vec<Conversation>> {
        let Self { client, query } = self;
        let id = client.id().to_owned();
        match client
            .realtime
            .call(None, move |engine, now| {
                engine.query_conversations(&id, &query, now)
            })
            .await?
        {
            Response::Conversations(list) => {
                Ok(list.iter().map(|conv| client.conversation(&conv.id)).collect())
            }
            other => Err(unexpected(&other)),
        }
    }

    /// Runs the query for its first result.
    pub async fn first(self) -> Result<Option<Conversation>> {
        Ok(self.limit(1).find().await?.into_iter().next())
    }
}
