//! [`Client`]: one signed-in client id (the JS `IMClient`).

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use chinwag_core::json::Value;
use chinwag_core::{CreateConversation, Response, Signature};

use crate::conversation::Conversation;
use crate::driver::read_cache;
use crate::error::{Error, Result};
use crate::query::Query;
use crate::realtime::{EventStream, Realtime, unexpected};

/// A signed-in client (the JS `IMClient`). Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    pub(crate) realtime: Realtime,
    id: Arc<str>,
    /// The stream subscribed at sign-in, handed out by the first [`events`](Self::events) call.
    first_events: Arc<Mutex<Option<EventStream>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(realtime: Realtime, id: &str) -> Self {
        Self {
            realtime,
            id: id.into(),
            first_events: Arc::new(Mutex::new(None)),
        }
    }

    pub(crate) fn adopt_events(&self, events: EventStream) {
        *self.first_events.lock().unwrap_or_else(PoisonError::into_inner) = Some(events);
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The [`Realtime`] it signed in through.
    pub fn realtime(&self) -> &Realtime {
        &self.realtime
    }

    /// This client's events: its conversations' events and the connection's. The first call returns
    /// the events since sign-in (the newest [`event_buffer`](crate::RealtimeOptions::event_buffer)
    /// of them, after an [`Event::Lagged`](crate::Event::Lagged) if more came; a stream nobody asks
    /// for within 4,096 events is dropped); later calls see events from the moment of the call. Each
    /// stream gets every event; drop a stream to unsubscribe. See [`EventStream`] for what happens to
    /// a stream that is not read.
    pub fn events(&self) -> EventStream {
        let first = self
            .first_events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match first {
            Some(stream) => stream.claim(),
            None => self.realtime.subscribe(Some(&self.id), None, None),
        }
    }

    /// Starts creating a conversation (the JS `createConversation`); set members, name, `unique` and
    /// attributes, then `.await` it.
    ///
    /// ```no_run
    /// # async fn demo(tom: chinwag::Client) -> chinwag::Result<()> {
    /// let conversation = tom.create_conversation().members(["Jerry"]).name("Tom & Jerry").await?;
    /// # let _ = conversation; Ok(()) }
    /// ```
    pub fn create_conversation(&self) -> CreateConversationBuilder {
        CreateConversationBuilder {
            client: self.clone(),
            create: CreateConversation::default(),
        }
    }

    /// Starts a conversation query (the JS `getQuery()`); refine it, then call
    /// [`find`](Query::find).
    pub fn query(&self) -> Query {
        Query::new(self.clone())
    }

    /// Fetches the conversation `id` from the server (the JS `getConversation`).
    pub async fn get_conversation(&self, id: &str) -> Result<Conversation> {
        let client = self.id.to_string();
        let cid = id.to_owned();
        match self
            .realtime
            .call(None, move |engine, now| {
                engine.get_conversation(&client, &cid, now)
            })
            .await?
        {
            Response::Conversations(list) => list
                .into_iter()
                .find(|conv| conv.id == id)
                .map(|conv| self.conversation(&conv.id))
                .ok_or_else(|| Error::Server {
                    code: 4401,
                    name: "CONVERSATION_NOT_FOUND".into(),
                    detail: Some(format!("no conversation {id}")),
                    app_code: None,
                    app_message: None,
                }),
            other => Err(unexpected(&other)),
        }
    }

    /// A handle on conversation `id` without asking the server (its cached data may be empty).
    pub fn conversation(&self, id: &str) -> Conversation {
        Conversation::new(self.clone(), id)
    }

    /// The conversations this client has seen (created, queried, or from events), from the cache.
    pub fn conversations(&self) -> Vec<Conversation> {
        let cache = self
            .realtime
            .inner
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut ids: Vec<&String> = cache
            .keys()
            .filter(|(client, _)| **client == *self.id)
            .map(|(_, cid)| cid)
            .collect();
        ids.sort();
        ids.into_iter().map(|cid| self.conversation(cid)).collect()
    }

    /// Which of `ids` are online (at most 20).
    pub async fn query_online(
        &self,
        ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Vec<String>> {
        let client = self.id.to_string();
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        match self
            .realtime
            .call(None, move |engine, now| engine.query_online(&client, &ids, now))
            .await?
        {
            Response::Online(online) => Ok(online),
            other => Err(unexpected(&other)),
        }
    }

    /// The session token the server issued, to sign in again later without a signature.
    pub async fn session_token(&self) -> Result<Option<String>> {
        let client = self.id.to_string();
        self.realtime
            .inspect(move |engine, _| engine.session_token(&client).map(str::to_owned))
            .await
    }

    /// Whether the session token is missing or past its lifetime (`stTtl`), so that a REST call
    /// needing it should [`refresh_session_token`](Self::refresh_session_token) first.
    pub async fn session_token_expired(&self) -> Result<bool> {
        let client = self.id.to_string();
        self.realtime
            .inspect(move |engine, now| engine.session_token_expired(&client, now))
            .await
    }

    /// Asks the server for a fresh session token (`session/refresh`) and keeps it for re-logins;
    /// `signature` is a login signature when the app requires signatures (as the JS SDK signs the
    /// refresh with its `signatureFactory`).
    pub async fn refresh_session_token(&self, signature: Option<Signature>) -> Result<String> {
        let client = self.id.to_string();
        match self
            .realtime
            .call(None, move |engine, now| {
                engine.refresh_session_token(&client, signature.as_ref(), now)
            })
            .await?
        {
            Response::SessionToken(token) => Ok(token),
            other => Err(unexpected(&other)),
        }
    }

    /// Signs out (`session/close`); the connection closes with the last client.
    pub async fn close(&self) -> Result<()> {
        let client = self.id.to_string();
        let outcome = self
            .realtime
            .call(None, move |engine, now| engine.close_client(&client, now))
            .await;
        self.realtime.forget_client(&self.id);
        match outcome? {
            Response::Closed => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// The cached copy of conversation `cid`.
    pub(crate) fn cached(&self, cid: &str) -> Option<chinwag_core::Conversation> {
        read_cache(&self.realtime.inner.cache, &self.id, cid)
    }
}

/// A conversation being created; `.await` it to send the request. See
/// [`Client::create_conversation`].
#[derive(Debug)]
#[must_use = "a conversation is created only when the builder is awaited"]
pub struct CreateConversationBuilder {
    client: Client,
    create: CreateConversation,
}

impl CreateConversationBuilder {
    /// Members besides the creator (who always joins).
    pub fn members(mut self, members: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.create.members = members.into_iter().map(Into::into).collect();
        self
    }

    /// The `name` attribute.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.create.name = Some(name.into());
        self
    }

    /// With `true` (the default) the server returns the existing conversation with exactly these
    /// members instead of creating another; `false` always creates a new one.
    pub fn unique(mut self, unique: bool) -> Self {
        self.create.unique = unique;
        self
    }

    /// A custom attribute.
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.create.attributes.insert(key.into(), value.into());
        self
    }

    /// Creates a chat room (`transient`) instead: open membership, online delivery only.
    pub fn chat_room(mut self) -> Self {
        self.create.transient = true;
        self.create.unique = false;
        self
    }

    /// Creates a temporary conversation living `ttl` seconds.
    pub fn temporary(mut self, ttl: i32) -> Self {
        self.create.temporary_ttl = Some(ttl);
        self
    }

    /// A conversation signature computed by the application's backend.
    pub fn signature(mut self, signature: Signature) -> Self {
        self.create.signature = Some(signature);
        self
    }

    async fn send(self) -> Result<Conversation> {
        let Self { client, create } = self;
        let id = client.id.to_string();
        match client
            .realtime
            .call(None, move |engine, now| {
                engine.create_conversation(&id, create, now)
            })
            .await?
        {
            Response::Created(conv) => Ok(client.conversation(&conv.id)),
            other => Err(unexpected(&other)),
        }
    }
}

impl IntoFuture for CreateConversationBuilder {
    type Output = Result<Conversation>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Conversation>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
