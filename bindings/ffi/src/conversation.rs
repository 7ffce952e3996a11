//! [`Conversation`]: one conversation of a client, and [`HistoryPages`].

use std::sync::Arc;

use crate::client::Shared;
use crate::error::{ChinwagError, parse_json};
use crate::events::{Event, Puller};
use crate::types::{
    ConversationInfo, HistoryQuery, MemberReceipt, MembershipResult, Message, MessageBody, ReceiptTimestamps,
    SendOptions,
};

/// A conversation of a client (the JS `Conversation`). The getters read the cache as of the last
/// event or reply, without a round trip.
#[derive(uniffi::Object)]
pub struct Conversation {
    shared: Arc<Shared>,
    inner: chinwag::Conversation,
    events: Puller,
}

impl Conversation {
    pub(crate) fn new(shared: Arc<Shared>, inner: chinwag::Conversation) -> Arc<Self> {
        let events = Puller::start(
            &shared.runtime,
            &shared.registry,
            shared.event_buffer,
            inner.events(),
        );
        Arc::new(Self {
            shared,
            inner,
            events,
        })
    }

    /// Runs one SDK call with a clone of the SDK handle.
    async fn run<T: Send + 'static, F>(
        &self,
        call: impl FnOnce(chinwag::Conversation) -> F,
    ) -> Result<T, ChinwagError>
    where
        F: Future<Output = chinwag::Result<T>> + Send + 'static,
    {
        self.shared.runtime.run(call(self.inner.clone())).await
    }
}

#[uniffi::export]
impl Conversation {
    /// The conversation id.
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }

    /// Everything cached about it (members, attributes, last message, unread count, receipts).
    pub fn info(&self) -> ConversationInfo {
        self.inner.info().into()
    }

    /// Member client ids, sorted.
    pub fn members(&self) -> Vec<String> {
        self.inner.members()
    }

    /// The `name` attribute.
    pub fn name(&self) -> Option<String> {
        self.inner.name()
    }

    /// Timestamp of the last message, ms (the JS `lastMessageAt`).
    pub fn last_message_at(&self) -> Option<i64> {
        self.inner.last_message_at()
    }

    /// The last message, if known.
    pub fn last_message(&self) -> Option<Message> {
        self.inner.last_message().map(Into::into)
    }

    /// Unread messages for this client.
    pub fn unread_count(&self) -> u32 {
        self.inner.unread_count()
    }

    /// The next event of this conversation (from when this object was made), waiting for one; `None`
    /// once its client is closed and every queued event was pulled.
    pub async fn next_event(&self) -> Option<Event> {
        self.events.next().await
    }

    /// Sends a text message (the JS `send(new TextMessage(text))`); resolves once the server
    /// acknowledged it.
    pub async fn send(&self, text: String) -> Result<Message, ChinwagError> {
        let sent = self
            .run(|c| async move { c.send(chinwag::TextMessage::new(text)).await })
            .await?;
        Ok(sent.into())
    }

    /// Sends any message with options (receipt, transient, will, priority, mentions, push data).
    pub async fn send_message(
        &self,
        body: MessageBody,
        options: SendOptions,
    ) -> Result<Message, ChinwagError> {
        let options = options.into_sdk()?;
        let sent = self
            .run(|c| async move { c.send_with(body, options).await })
            .await?;
        Ok(sent.into())
    }

    /// Adds members (the JS `add`).
    pub async fn add(&self, members: Vec<String>) -> Result<MembershipResult, ChinwagError> {
        let result = self.run(|c| async move { c.add(members).await }).await?;
        Ok(result.into())
    }

    /// Removes members (the JS `remove`).
    pub async fn remove(&self, members: Vec<String>) -> Result<MembershipResult, ChinwagError> {
        let result = self.run(|c| async move { c.remove(members).await }).await?;
        Ok(result.into())
    }

    /// Joins the conversation; fails with the server's error when it refuses this client.
    pub async fn join(&self) -> Result<(), ChinwagError> {
        self.run(|c| async move { c.join().await }).await
    }

    /// Quits the conversation; fails with the server's error when it refuses.
    pub async fn quit(&self) -> Result<(), ChinwagError> {
        self.run(|c| async move { c.quit().await }).await
    }

    /// Saves attribute changes given as a JSON object (keys may be dotted paths such as `attr.color`).
    pub async fn update(&self, attributes_json: String) -> Result<(), ChinwagError> {
        let chinwag::json::Value::Object(attributes) = parse_json("attributes_json", &attributes_json)?
        else {
            return Err(ChinwagError::local(
                "INVALID_ARGUMENT",
                "attributes_json must be a JSON object",
            ));
        };
        self.run(|c| async move { c.update(attributes).await }).await
    }

    /// A page of history (the JS `queryMessages`), ascending by timestamp.
    pub async fn query_messages(&self, query: HistoryQuery) -> Result<Vec<Message>, ChinwagError> {
        let messages = self
            .run(|c| async move { c.query_messages(query.into()).await })
            .await?;
        Ok(messages.into_iter().map(Into::into).collect())
    }

    /// Pages through the history from the newest message back (the JS `createMessagesIterator`).
    pub fn history(&self, page_size: i32) -> Arc<HistoryPages> {
        Arc::new(HistoryPages {
            shared: self.shared.clone(),
            pages: Arc::new(tokio::sync::Mutex::new(self.inner.history(page_size))),
        })
    }

    /// Recalls a sent message; resolves to its recalled version.
    pub async fn recall(&self, message: Message) -> Result<Message, ChinwagError> {
        let message: chinwag::Message = message.into();
        let recalled = self.run(|c| async move { c.recall(&message).await }).await?;
        Ok(recalled.into())
    }

    /// Replaces a sent message's content; resolves to the new version.
    pub async fn edit(&self, message: Message, body: MessageBody) -> Result<Message, ChinwagError> {
        let message: chinwag::Message = message.into();
        let content: chinwag::MessageContent = body.into();
        let edited = self
            .run(|c| async move { c.edit(&message, content).await })
            .await?;
        Ok(edited.into())
    }

    /// Marks the conversation read (its unread count drops to 0).
    pub async fn read(&self) -> Result<(), ChinwagError> {
        self.run(|c| async move { c.read().await }).await
    }

    /// The conversation's delivery and read receipt times (the JS `fetchReceiptTimestamps`).
    pub async fn fetch_receipt_timestamps(&self) -> Result<ReceiptTimestamps, ChinwagError> {
        let timestamps = self
            .run(|c| async move { c.fetch_receipt_timestamps().await })
            .await?;
        Ok(timestamps.into())
    }

    /// Every member's receipt times.
    pub async fn member_receipts(&self) -> Result<Vec<MemberReceipt>, ChinwagError> {
        let receipts = self.run(|c| async move { c.member_receipts().await }).await?;
        Ok(receipts.into_iter().map(Into::into).collect())
    }

    /// How many members it has.
    pub async fn count_members(&self) -> Result<i64, ChinwagError> {
        self.run(|c| async move { c.count_members().await }).await
    }

    /// Turns off push notifications of this conversation for this client.
    pub async fn mute(&self) -> Result<(), ChinwagError> {
        self.run(|c| async move { c.mute().await }).await
    }

    /// Turns them back on.
    pub async fn unmute(&self) -> Result<(), ChinwagError> {
        self.run(|c| async move { c.unmute().await }).await
    }

    /// Shuts members up.
    pub async fn mute_members(&self, members: Vec<String>) -> Result<MembershipResult, ChinwagError> {
        let result = self.run(|c| async move { c.mute_members(members).await }).await?;
        Ok(result.into())
    }

    /// Lets members speak again.
    pub async fn unmute_members(&self, members: Vec<String>) -> Result<MembershipResult, ChinwagError> {
        let result = self
            .run(|c| async move { c.unmute_members(members).await })
            .await?;
        Ok(result.into())
    }

    /// Blocks members.
    pub async fn block_members(&self, members: Vec<String>) -> Result<MembershipResult, ChinwagError> {
        let result = self
            .run(|c| async move { c.block_members(members).await })
            .await?;
        Ok(result.into())
    }

    /// Unblocks members.
    pub async fn unblock_members(&self, members: Vec<String>) -> Result<MembershipResult, ChinwagError> {
        let result = self
            .run(|c| async move { c.unblock_members(members).await })
            .await?;
        Ok(result.into())
    }

    /// Changes a member's role (`Manager` or `Member`).
    pub async fn update_member_role(&self, member: String, role: String) -> Result<(), ChinwagError> {
        self.run(|c| async move { c.update_member_role(&member, &role).await })
            .await
    }
}

/// Pages of a conversation's history, newest first (see `Conversation.history`).
#[derive(uniffi::Object)]
pub struct HistoryPages {
    shared: Arc<Shared>,
    pages: Arc<tokio::sync::Mutex<chinwag::HistoryPages>>,
}

#[uniffi::export]
impl HistoryPages {
    /// The next (older) page, ascending by timestamp; `None` after the oldest message.
    pub async fn next_page(&self) -> Result<Option<Vec<Message>>, ChinwagError> {
        let pages = self.pages.clone();
        let page = self
            .shared
            .runtime
            .run(async move { pages.lock().await.next_page().await })
            .await?;
        Ok(page.map(|messages| messages.into_iter().map(Into::into).collect()))
    }
}
