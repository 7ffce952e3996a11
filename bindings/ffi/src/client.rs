//! [`Client`]: a signed-in client, and [`Query`], its conversation query.

use std::future::IntoFuture;
use std::sync::Arc;

use crate::conversation::Conversation;
use crate::error::ChinwagError;
use crate::events::{Event, Puller, Registry};
use crate::runtime::OwnedRuntime;
use crate::types::CreateConversationOptions;

/// What a client and the objects made from it share.
pub(crate) struct Shared {
    pub(crate) runtime: Arc<OwnedRuntime>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) event_buffer: usize,
}

impl Shared {
    pub(crate) fn conversation(self: &Arc<Self>, inner: chinwag::Conversation) -> Arc<Conversation> {
        Conversation::new(self.clone(), inner)
    }
}

/// A signed-in client (the JS `IMClient`).
#[derive(uniffi::Object)]
pub struct Client {
    shared: Arc<Shared>,
    inner: chinwag::Client,
    events: Puller,
}

impl Client {
    pub(crate) fn new(
        runtime: Arc<OwnedRuntime>,
        registry: Arc<Registry>,
        event_buffer: usize,
        inner: chinwag::Client,
    ) -> Arc<Self> {
        let events = Puller::start(&runtime, &registry, event_buffer, inner.events());
        Arc::new(Self {
            shared: Arc::new(Shared {
                runtime,
                registry,
                event_buffer,
            }),
            inner,
            events,
        })
    }
}

#[uniffi::export]
impl Client {
    /// The client id.
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }

    /// The next event of this client (its conversations' and the connection's), waiting for one;
    /// `None` once the client is closed and every queued event was pulled.
    pub async fn next_event(&self) -> Option<Event> {
        self.events.next().await
    }

    /// Creates a conversation (the JS `createConversation`).
    pub async fn create_conversation(
        &self,
        options: CreateConversationOptions,
    ) -> Result<Arc<Conversation>, ChinwagError> {
        let builder = options.apply(self.inner.create_conversation())?;
        let conversation = self.shared.runtime.run(builder.into_future()).await?;
        Ok(self.shared.conversation(conversation))
    }

    /// Starts a conversation query (the JS `getQuery()`); refine it, then `find()`.
    pub fn query(&self) -> Arc<Query> {
        Arc::new(Query {
            shared: self.shared.clone(),
            inner: self.inner.query(),
        })
    }

    /// Fetches conversation `id` from the server (the JS `getConversation`).
    pub async fn get_conversation(&self, id: String) -> Result<Arc<Conversation>, ChinwagError> {
        let client = self.inner.clone();
        let conversation = self
            .shared
            .runtime
            .run(async move { client.get_conversation(&id).await })
            .await?;
        Ok(self.shared.conversation(conversation))
    }

    /// A handle on conversation `id` without asking the server.
    pub fn conversation(&self, id: String) -> Arc<Conversation> {
        self.shared.conversation(self.inner.conversation(&id))
    }

    /// The conversations this client has seen (created, queried, or from events).
    pub fn conversations(&self) -> Vec<Arc<Conversation>> {
        self.inner
            .conversations()
            .into_iter()
            .map(|conversation| self.shared.conversation(conversation))
            .collect()
    }

    /// Which of `ids` are online (at most 20).
    pub async fn query_online(&self, ids: Vec<String>) -> Result<Vec<String>, ChinwagError> {
        let client = self.inner.clone();
        self.shared
            .runtime
            .run(async move { client.query_online(ids).await })
            .await
    }

    /// The session token the server issued, to sign in again later without a signature.
    pub async fn session_token(&self) -> Result<Option<String>, ChinwagError> {
        let client = self.inner.clone();
        self.shared
            .runtime
            .run(async move { client.session_token().await })
            .await
    }

    /// Signs out. `next_event()` of the client and its conversations then returns `None` once
    /// drained.
    pub async fn close(&self) -> Result<(), ChinwagError> {
        let client = self.inner.clone();
        let outcome = self.shared.runtime.run(async move { client.close().await }).await;
        self.shared.registry.close();
        outcome
    }
}

/// A conversation query (the JS `ConversationQuery`). Each refinement returns a new query.
#[derive(uniffi::Object)]
pub struct Query {
    shared: Arc<Shared>,
    inner: chinwag::Query,
}

impl Query {
    fn refined(&self, refine: impl FnOnce(chinwag::Query) -> chinwag::Query) -> Arc<Self> {
        Arc::new(Self {
            shared: self.shared.clone(),
            inner: refine(self.inner.clone()),
        })
    }
}

fn json_value(json: &str) -> Result<chinwag::json::Value, ChinwagError> {
    crate::error::parse_json("value_json", json)
}

#[uniffi::export]
impl Query {
    /// The members include all of `ids`.
    pub fn contains_members(&self, ids: Vec<String>) -> Arc<Self> {
        self.refined(|q| q.contains_members(ids))
    }

    /// The members are exactly `ids`.
    pub fn with_members(&self, ids: Vec<String>) -> Arc<Self> {
        self.refined(|q| q.with_members(ids))
    }

    /// `key == value`, the value given as JSON (`"\"Tom & Jerry\""`, `42`, `true`).
    pub fn equal_to(&self, key: String, value_json: String) -> Result<Arc<Self>, ChinwagError> {
        let value = json_value(&value_json)?;
        Ok(self.refined(|q| q.equal_to(&key, value)))
    }

    /// The string `key` starts with `text`.
    pub fn starts_with(&self, key: String, text: String) -> Arc<Self> {
        self.refined(|q| q.starts_with(&key, &text))
    }

    /// The string `key` contains `text`.
    pub fn contains(&self, key: String, text: String) -> Arc<Self> {
        self.refined(|q| q.contains(&key, &text))
    }

    /// At most `limit` results.
    pub fn limit(&self, limit: i32) -> Arc<Self> {
        self.refined(|q| q.limit(limit))
    }

    /// Skips the first `skip` results.
    pub fn skip(&self, skip: i32) -> Arc<Self> {
        self.refined(|q| q.skip(skip))
    }

    /// Sorts ascending by `key`.
    pub fn ascending(&self, key: String) -> Arc<Self> {
        self.refined(|q| q.ascending(&key))
    }

    /// Sorts descending by `key`.
    pub fn descending(&self, key: String) -> Arc<Self> {
        self.refined(|q| q.descending(&key))
    }

    /// Includes each conversation's last message.
    pub fn with_last_messages_refreshed(&self, enabled: bool) -> Arc<Self> {
        self.refined(|q| q.with_last_messages_refreshed(enabled))
    }

    /// Runs the query.
    pub async fn find(&self) -> Result<Vec<Arc<Conversation>>, ChinwagError> {
        let query = self.inner.clone();
        let found = self.shared.runtime.run(query.find()).await?;
        Ok(found
            .into_iter()
            .map(|conversation| self.shared.conversation(conversation))
            .collect())
    }
}
