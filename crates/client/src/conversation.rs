//! [`Conversation`]: a handle on one conversation of one client.

use std::sync::Arc;

use chinwag_core::json::{Map, Value};
use chinwag_core::{
    Engine, HistoryQuery, Instant, MemberReceipt, Message, MessageContent, PartialFailure, RequestError,
    RequestId, Response, SendOptions,
};

use crate::client::Client;
use crate::error::Result;
use crate::realtime::{EventStream, unexpected};

/// A conversation of a client (the JS `Conversation`). Cheap to clone; `Send + Sync`. The getters read
/// the engine's cache as of the last event or reply, without a round trip.
#[derive(Clone)]
pub struct Conversation {
    client: Client,
    id: Arc<str>,
}

impl std::fmt::Debug for Conversation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversation")
            .field("client", &self.client.id())
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The outcome of a membership change: who it applied to and who it failed for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MembershipResult {
    /// Client ids the operation applied to.
    pub succeeded: Vec<String>,
    /// Failures, grouped by error.
    pub failed: Vec<PartialFailure>,
}

impl MembershipResult {
    /// For an operation on oneself (join, quit): the first failure as an error.
    fn into_own_result(self) -> Result<()> {
        match self.failed.into_iter().next() {
            Some(failure) => Err(RequestError::Server(failure.error).into()),
            None => Ok(()),
        }
    }
}

/// A conversation's receipt timestamps (`conv/max_read`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReceiptTimestamps {
    /// Latest read receipt, ms.
    pub last_read_at: Option<i64>,
    /// Latest delivery receipt, ms.
    pub last_delivered_at: Option<i64>,
}

impl Conversation {
    pub(crate) fn new(client: Client, id: &str) -> Self {
        Self {
            client,
            id: id.into(),
        }
    }

    /// The conversation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client this handle belongs to.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Everything cached about the conversation (members, attributes, last message, unread count,
    /// receipts); a stub with only the id when nothing is known yet.
    pub fn info(&self) -> chinwag_core::Conversation {
        self.client
            .cached(&self.id)
            .unwrap_or_else(|| chinwag_core::Conversation::stub(&self.id))
    }

    /// Member client ids, sorted.
    pub fn members(&self) -> Vec<String> {
        self.info().members.into_iter().collect()
    }

    /// The `name` attribute.
    pub fn name(&self) -> Option<String> {
        self.info().name
    }

    /// Timestamp of the last message, ms (the JS `lastMessageAt`).
    pub fn last_message_at(&self) -> Option<i64> {
        self.info().last_message_at
    }

    /// The last message, if known.
    pub fn last_message(&self) -> Option<Message> {
        self.info().last_message
    }

    /// Unread messages for this client.
    pub fn unread_count(&self) -> u32 {
        self.info().unread
    }

    /// This conversation's events (messages, member changes, receipts, ...), from the moment of the
    /// call. Drop the stream to unsubscribe.
    pub fn events(&self) -> EventStream {
        self.client
            .realtime
            .subscribe(Some(self.client.id()), Some(&self.id), None)
    }

    async fn call(
        &self,
        run: impl FnOnce(&mut Engine, &str, &str, Instant) -> RequestId + Send + 'static,
    ) -> Result<Response> {
        let (client, cid) = (self.client.id().to_owned(), self.id.to_string());
        let scope = Some((client.clone(), cid.clone()));
        self.client
            .realtime
            .call(scope, move |engine, now| run(engine, &client, &cid, now))
            .await
    }

    async fn membership(
        &self,
        run: impl FnOnce(&mut Engine, &str, &str, Instant) -> RequestId + Send + 'static,
    ) -> Result<MembershipResult> {
        match self.call(run).await? {
            Response::Partial { succeeded, failed } => Ok(MembershipResult { succeeded, failed }),
            other => Err(unexpected(&other)),
        }
    }

    async fn done(
        &self,
        run: impl FnOnce(&mut Engine, &str, &str, Instant) -> RequestId + Send + 'static,
    ) -> Result<()> {
        match self.call(run).await? {
            Response::Done | Response::Updated { .. } => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends a message; resolves to it with the server's id and timestamp once acknowledged. While
    /// disconnected it is queued and sent after re-login (once, even if resent).
    ///
    /// ```no_run
    /// # async fn demo(conversation: chinwag::Conversation) -> chinwag::Result<()> {
    /// use chinwag::TextMessage;
    /// let sent = conversation.send(TextMessage::new("Hi, Jerry.")).await?;
    /// println!("{:?} at {}", sent.id, sent.timestamp);
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, content: impl Into<MessageContent>) -> Result<Message> {
        self.send_with(content, SendOptions::default()).await
    }

    /// Sends a message with options: transient, receipt, will, priority, mentions, push data.
    pub async fn send_with(
        &self,
        content: impl Into<MessageContent>,
        options: SendOptions,
    ) -> Result<Message> {
        let content = content.into();
        match self
            .call(move |engine, client, cid, now| engine.send(client, cid, content, options, now))
            .await?
        {
            Response::Sent(message) => Ok(message),
            other => Err(unexpected(&other)),
        }
    }

    /// Adds members (the JS `add`); `MembersJoined` / `Invited` events follow.
    pub async fn add(
        &self,
        members: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<MembershipResult> {
        let members: Vec<String> = members.into_iter().map(Into::into).collect();
        self.membership(move |engine, client, cid, now| engine.add_members(client, cid, &members, now))
            .await
    }

    /// Removes members (the JS `remove`); `MembersLeft` / `Kicked` events follow.
    pub async fn remove(
        &self,
        members: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<MembershipResult> {
        let members: Vec<String> = members.into_iter().map(Into::into).collect();
        self.membership(move |engine, client, cid, now| engine.remove_members(client, cid, &members, now))
            .await
    }

    /// Joins the conversation; fails with the server's error when it refuses this client (e.g.
    /// 4315 `CONVERSATION_BLACKLISTED`).
    pub async fn join(&self) -> Result<()> {
        self.membership(|engine, client, cid, now| engine.join(client, cid, now))
            .await?
            .into_own_result()
    }

    /// Quits the conversation; fails with the server's error when it refuses.
    pub async fn quit(&self) -> Result<()> {
        self.membership(|engine, client, cid, now| engine.quit(client, cid, now))
            .await?
            .into_own_result()
    }

    /// Saves attribute changes (keys may be dotted paths such as `attr.color`); other members get
    /// `InfoUpdated`.
    pub async fn update(
        &self,
        attributes: impl IntoIterator<Item = (impl Into<String>, impl Into<Value>)>,
    ) -> Result<()> {
        let attributes: Map = attributes
            .into_iter()
            .map(|(key, value)| (key.into(), value.into()))
            .collect();
        self.done(move |engine, client, cid, now| engine.update_conversation(client, cid, attributes, now))
            .await
    }

    /// A page of history (the JS `queryMessages`), ascending by timestamp.
    pub async fn query_messages(&self, query: HistoryQuery) -> Result<Vec<Message>> {
        match self
            .call(move |engine, client, cid, now| engine.query_messages(client, cid, query, now))
            .await?
        {
            Response::History(messages) => Ok(messages),
            other => Err(unexpected(&other)),
        }
    }

    /// Pages through the history from the newest message back, `page_size` at a time (the JS
    /// `createMessagesIterator`).
    pub fn history(&self, page_size: i32) -> HistoryPages {
        HistoryPages {
            conversation: self.clone(),
            page_size,
            oldest: None,
            done: false,
        }
    }

    /// Recalls a sent message; resolves to its recalled version.
    pub async fn recall(&self, message: &Message) -> Result<Message> {
        let message = message.clone();
        match self
            .call(move |engine, client, _, now| engine.recall(client, &message, now))
            .await?
        {
            Response::Patched(message) => Ok(message),
            other => Err(unexpected(&other)),
        }
    }

    /// Replaces a sent message's content; resolves to the new version.
    pub async fn edit(&self, message: &Message, content: impl Into<MessageContent>) -> Result<Message> {
        let (message, content) = (message.clone(), content.into());
        match self
            .call(move |engine, client, _, now| engine.edit(client, &message, content, now))
            .await?
        {
            Response::Patched(message) => Ok(message),
            other => Err(unexpected(&other)),
        }
    }

    /// Marks the conversation read up to its last message (the unread count drops to 0).
    pub async fn read(&self) -> Result<()> {
        self.done(|engine, client, cid, now| engine.read(client, cid, now))
            .await
    }

    /// The conversation's delivery and read receipt times (the JS `fetchReceiptTimestamps`).
    pub async fn fetch_receipt_timestamps(&self) -> Result<ReceiptTimestamps> {
        match self
            .call(|engine, client, cid, now| engine.fetch_receipt_timestamps(client, cid, now))
            .await?
        {
            Response::ReceiptTimestamps { max_read, max_ack } => Ok(ReceiptTimestamps {
                last_read_at: max_read,
                last_delivered_at: max_ack,
            }),
            other => Err(unexpected(&other)),
        }
    }

    /// Every member's receipt times.
    pub async fn member_receipts(&self) -> Result<Vec<MemberReceipt>> {
        match self
            .call(|engine, client, cid, now| engine.fetch_member_receipts(client, cid, now))
            .await?
        {
            Response::MemberReceipts(receipts) => Ok(receipts),
            other => Err(unexpected(&other)),
        }
    }

    /// How many members the conversation has.
    pub async fn count_members(&self) -> Result<i64> {
        match self
            .call(|engine, client, cid, now| engine.count_members(client, cid, now))
            .await?
        {
            Response::Count(count) => Ok(count),
            other => Err(unexpected(&other)),
        }
    }

    /// Turns off push notifications of this conversation for this client.
    pub async fn mute(&self) -> Result<()> {
        self.done(|engine, client, cid, now| engine.mute(client, cid, now))
            .await
    }

    /// Turns them back on.
    pub async fn unmute(&self) -> Result<()> {
        self.done(|engine, client, cid, now| engine.unmute(client, cid, now))
            .await
    }

    /// Shuts members up.
    pub async fn mute_members(
        &self,
        members: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<MembershipResult> {
        let members: Vec<String> = members.into_iter().map(Into::into).collect();
        self.membership(move |engine, client, cid, now| engine.mute_members(client, cid, &members, now))
            .await
    }

    /// Lets members speak again.
    pub async fn unmute_members(
        &self,
        members: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<MembershipResult> {
        let members: Vec<String> = members.into_iter().map(Into::into).collect();
        self.membership(move |engine, client, cid, now| engine.unmute_members(client, cid, &members, now))
            .await
    }

    /// Blocks members.
    pub async fn block_members(
        &self,
        members: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<MembershipResult> {
        let members: Vec<String> = members.into_iter().map(Into::into).collect();
        self.membership(move |engine, client, cid, now| engine.block_members(client, cid, &members, now))
            .await
    }

    /// Unblocks members.
    pub async fn unblock_members(
        &self,
        members: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<MembershipResult> {
        let members: Vec<String> = members.into_iter().map(Into::into).collect();
        self.membership(move |engine, client, cid, now| engine.unblock_members(client, cid, &members, now))
            .await
    }

    /// Changes a member's role (`Manager` or `Member`).
    pub async fn update_member_role(&self, member: &str, role: &str) -> Result<()> {
        let (member, role) = (member.to_owned(), role.to_owned());
        self.done(move |engine, client, cid, now| engine.update_member_role(client, cid, &member, &role, now))
            .await
    }
}

/// Pages of history, newest first. See [`Conversation::history`].
#[derive(Debug)]
pub struct HistoryPages {
    conversation: Conversation,
    page_size: i32,
    oldest: Option<(i64, Option<String>)>,
    done: bool,
}

impl HistoryPages {
    /// The next (older) page, ascending by timestamp; `None` after the oldest message.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Message>>> {
        if self.done {
            return Ok(None);
        }
        let mut query = HistoryQuery {
            limit: Some(self.page_size),
            forward: Some(false),
            ..HistoryQuery::default()
        };
        if let Some((timestamp, id)) = &self.oldest {
            query.start_time = Some(*timestamp);
            query.start_message_id = id.clone();
        }
        let page = self.conversation.query_messages(query).await?;
        if page.len() < usize::try_from(self.page_size).unwrap_or(0) {
            self.done = true;
        }
        match page.first() {
            Some(oldest) => self.oldest = Some((oldest.timestamp, oldest.id.clone())),
            None => {
                self.done = true;
                return Ok(None);
            }
        }
        Ok(Some(page))
    }
}
