//! Pulled events: the FFI [`Event`], the bounded buffer behind every `next_event()`, and the task that
//! fills it from an SDK [`EventStream`](chinwag::EventStream).
//!
//! Why pulling and bounded buffers: a listener interface would hand Rust a foreign object whose
//! lifetime the application must end by hand (and forgetting leaks it and everything it captures). A
//! pull keeps nothing foreign in Rust, and the buffer caps what an application that stops pulling
//! costs.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::Notify;

use crate::runtime::OwnedRuntime;
use crate::types::{Message, MessageStatus, UnreadCount};

/// Something a client or a conversation is told (the SDK's `chinwag::Event`, plus [`Lagged`](Self::Lagged)).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Event {
    /// Events were dropped because the application did not pull them in time (its buffer was full);
    /// `missed` says how many. The oldest go first, so what follows is the most recent.
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
    /// The WebSocket opened.
    Connected,
    /// The connection went down.
    Disconnected {
        /// Why, e.g. `Closed(Some(1006))` or `Dead`.
        reason: String,
    },
    /// A reconnect is scheduled.
    Reconnecting {
        /// 0-based attempt.
        attempt: u32,
        /// Milliseconds before it.
        delay_ms: u64,
    },
    /// The client signed in again after a reconnect.
    Reconnected,
    /// Re-login after a reconnect failed; the client is closed.
    ReconnectFailed {
        /// Why.
        error: String,
    },
    /// The network is gone; no retries until it returns.
    Offline,
    /// The network is back; reconnecting.
    Online,
    /// A fatal close code (4100, 4103, 4110): no more retries.
    ConnectionFailed {
        /// The close code.
        code: u16,
    },
    /// Another device signed in with the same `tag`; the client is closed.
    Conflict {
        /// The server's reason.
        reason: String,
    },
    /// The session was closed; the client is closed.
    Closed {
        /// Close code (0 for a local close).
        code: i32,
        /// The server's reason.
        reason: String,
    },
    /// A message arrived.
    Message {
        /// The message (its `conversation` names the conversation).
        message: Message,
    },
    /// A message was recalled.
    MessageRecalled {
        /// The recalled message.
        message: Message,
        /// The server's `patchCode`, if any.
        patch_code: Option<i64>,
        /// The server's `patchReason`, if any.
        patch_reason: Option<String>,
    },
    /// A message was edited.
    MessageUpdated {
        /// The new version.
        message: Message,
        /// The server's `patchCode`, if any.
        patch_code: Option<i64>,
        /// The server's `patchReason`, if any.
        patch_reason: Option<String>,
    },
    /// A message sent with a receipt was delivered or read.
    MessageStatusChanged {
        /// The conversation.
        conversation: String,
        /// The server message id.
        message_id: String,
        /// `Delivered` or `Read`.
        status: MessageStatus,
        /// Receipt time, ms.
        at: i64,
    },
    /// Unread counts changed.
    UnreadCountUpdated {
        /// The new counts.
        conversations: Vec<UnreadCount>,
    },
    /// The peer's delivery receipt time advanced.
    LastDeliveredAt {
        /// The conversation.
        conversation: String,
        /// ms.
        at: i64,
    },
    /// The peer's read receipt time advanced.
    LastReadAt {
        /// The conversation.
        conversation: String,
        /// ms.
        at: i64,
    },
    /// This client was added to a conversation.
    Invited {
        /// The conversation.
        conversation: String,
        /// Who added it.
        invited_by: Option<String>,
    },
    /// This client was removed from a conversation.
    Kicked {
        /// The conversation.
        conversation: String,
        /// Who removed it.
        kicked_by: Option<String>,
    },
    /// Members joined.
    MembersJoined {
        /// The conversation.
        conversation: String,
        /// The new members.
        members: Vec<String>,
        /// Who added them.
        invited_by: Option<String>,
    },
    /// Members left.
    MembersLeft {
        /// The conversation.
        conversation: String,
        /// The members who left.
        members: Vec<String>,
        /// Who removed them (themselves when they quit).
        kicked_by: Option<String>,
    },
    /// Members' state changed: `change` is one of `blocked`, `unblocked`, `muted`, `unmuted`.
    MembersChanged {
        /// The conversation.
        conversation: String,
        /// `blocked`, `unblocked`, `muted` or `unmuted`.
        change: String,
        /// The members.
        members: Vec<String>,
        /// Who did it.
        by: Option<String>,
    },
    /// This client's state changed: `change` is one of `blocked`, `unblocked`, `muted`, `unmuted`.
    SelfChanged {
        /// The conversation.
        conversation: String,
        /// `blocked`, `unblocked`, `muted` or `unmuted`.
        change: String,
        /// Who did it.
        by: Option<String>,
    },
    /// A member's role changed.
    MemberInfoUpdated {
        /// The conversation.
        conversation: String,
        /// The member.
        member: String,
        /// The new role (`Owner`/`Manager`/`Member`).
        role: Option<String>,
        /// Who changed it.
        updated_by: Option<String>,
    },
    /// Conversation attributes changed.
    InfoUpdated {
        /// The conversation.
        conversation: String,
        /// The changed keys and their values, as a JSON object (dotted paths allowed).
        attributes_json: String,
        /// Who changed them.
        updated_by: Option<String>,
    },
    /// Anything else (a command the SDK does not understand, or an event newer than this binding),
    /// described in text.
    Other {
        /// A debug description.
        description: String,
    },
}

fn patch(reason: Option<(i64, String)>) -> (Option<i64>, Option<String>) {
    reason.map_or((None, None), |(code, text)| (Some(code), Some(text)))
}

impl From<chinwag::Event> for Event {
    fn from(event: chinwag::Event) -> Self {
        use chinwag::Event as E;
        let members_changed = |conversation, change: &str, members, by| Self::MembersChanged {
            conversation,
            change: change.to_owned(),
            members,
            by,
        };
        let self_changed = |conversation, change: &str, by| Self::SelfChanged {
            conversation,
            change: change.to_owned(),
            by,
        };
        match event {
            E::Lagged { missed } => Self::Lagged { missed },
            E::Connected => Self::Connected,
            E::Disconnected { reason } => Self::Disconnected {
                reason: format!("{reason:?}"),
            },
            E::Reconnecting { attempt, delay } => Self::Reconnecting {
                attempt,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            },
            E::Reconnected => Self::Reconnected,
            E::ReconnectFailed { error } => Self::ReconnectFailed {
                error: error.to_string(),
            },
            E::Offline => Self::Offline,
            E::Online => Self::Online,
            E::ConnectionFailed { code } => Self::ConnectionFailed { code },
            E::Conflict { reason } => Self::Conflict { reason },
            E::Closed { code, reason } => Self::Closed { code, reason },
            E::Message { message } => Self::Message {
                message: message.into(),
            },
            E::MessageRecalled { message, reason } => {
                let (patch_code, patch_reason) = patch(reason);
                Self::MessageRecalled {
                    message: message.into(),
                    patch_code,
                    patch_reason,
                }
            }
            E::MessageUpdated { message, reason } => {
                let (patch_code, patch_reason) = patch(reason);
                Self::MessageUpdated {
                    message: message.into(),
                    patch_code,
                    patch_reason,
                }
            }
            E::MessageStatusChanged {
                conversation,
                message_id,
                status,
                at,
            } => Self::MessageStatusChanged {
                conversation,
                message_id,
                status: status.into(),
                at,
            },
            E::UnreadCountUpdated { conversations } => Self::UnreadCountUpdated {
                conversations: conversations
                    .into_iter()
                    .map(|(conversation, count, mentioned)| UnreadCount {
                        conversation,
                        count,
                        mentioned,
                    })
                    .collect(),
            },
            E::LastDeliveredAt { conversation, at } => Self::LastDeliveredAt { conversation, at },
            E::LastReadAt { conversation, at } => Self::LastReadAt { conversation, at },
            E::Invited {
                conversation,
                invited_by,
            } => Self::Invited {
                conversation,
                invited_by,
            },
            E::Kicked {
                conversation,
                kicked_by,
            } => Self::Kicked {
                conversation,
                kicked_by,
            },
            E::MembersJoined {
                conversation,
                members,
                invited_by,
            } => Self::MembersJoined {
                conversation,
                members,
                invited_by,
            },
            E::MembersLeft {
                conversation,
                members,
                kicked_by,
            } => Self::MembersLeft {
                conversation,
                members,
                kicked_by,
            },
            E::MembersBlocked {
                conversation,
                members,
                blocked_by,
            } => members_changed(conversation, "blocked", members, blocked_by),
            E::MembersUnblocked {
                conversation,
                members,
                unblocked_by,
            } => members_changed(conversation, "unblocked", members, unblocked_by),
            E::MembersMuted {
                conversation,
                members,
                muted_by,
            } => members_changed(conversation, "muted", members, muted_by),
            E::MembersUnmuted {
                conversation,
                members,
                unmuted_by,
            } => members_changed(conversation, "unmuted", members, unmuted_by),
            E::Blocked {
                conversation,
                blocked_by,
            } => self_changed(conversation, "blocked", blocked_by),
            E::Unblocked {
                conversation,
                unblocked_by,
            } => self_changed(conversation, "unblocked", unblocked_by),
            E::Muted {
                conversation,
                muted_by,
            } => self_changed(conversation, "muted", muted_by),
            E::Unmuted {
                conversation,
                unmuted_by,
            } => self_changed(conversation, "unmuted", unmuted_by),
            E::MemberInfoUpdated {
                conversation,
                member,
                role,
                updated_by,
            } => Self::MemberInfoUpdated {
                conversation,
                member,
                role,
                updated_by,
            },
            E::InfoUpdated {
                conversation,
                attributes,
                updated_by,
            } => Self::InfoUpdated {
                conversation,
                attributes_json: attributes.to_json(),
                updated_by,
            },
            other => Self::Other {
                description: format!("{other:?}"),
            },
        }
    }
}

/// The bounded queue behind one `next_event()`.
pub(crate) struct EventBuffer {
    state: Mutex<BufferState>,
    changed: Notify,
    capacity: usize,
}

struct BufferState {
    queue: VecDeque<chinwag::Event>,
    missed: u64,
    closed: bool,
}

impl EventBuffer {
    fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(BufferState {
                queue: VecDeque::new(),
                missed: 0,
                closed: false,
            }),
            changed: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BufferState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues an event, dropping the oldest when full; `false` once closed.
    fn push(&self, event: chinwag::Event) -> bool {
        {
            let mut state = self.lock();
            if state.closed {
                return false;
            }
            if state.queue.len() >= self.capacity {
                state.queue.pop_front();
                state.missed += 1;
            }
            state.queue.push_back(event);
        }
        self.changed.notify_waiters();
        true
    }

    /// No more events: pullers drain what is queued, then get `None`.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_waiters();
    }

    /// The next event: `Lagged` first after a gap, `None` once closed and drained.
    pub(crate) async fn next(&self) -> Option<Event> {
        loop {
            let mut changed = pin!(self.changed.notified());
            // Registered before looking, so a push between the look and the await is not missed.
            changed.as_mut().enable();
            {
                let mut state = self.lock();
                if state.missed > 0 {
                    let missed = std::mem::take(&mut state.missed);
                    return Some(Event::Lagged { missed });
                }
                if let Some(event) = state.queue.pop_front() {
                    return Some(event.into());
                }
                if state.closed {
                    return None;
                }
            }
            changed.await;
        }
    }

    async fn closed(&self) {
        loop {
            let mut changed = pin!(self.changed.notified());
            changed.as_mut().enable();
            if self.lock().closed {
                return;
            }
            changed.await;
        }
    }
}

/// The pullers of one signed-in client (its own and its conversations'), closed together when the
/// client or its `Realtime` closes.
#[derive(Default)]
pub(crate) struct Registry {
    state: Mutex<RegistryState>,
}

#[derive(Default)]
struct RegistryState {
    buffers: Vec<Weak<EventBuffer>>,
    closed: bool,
}

impl Registry {
    /// Closes every puller of the client, now and later.
    pub(crate) fn close(&self) {
        let buffers = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.closed = true;
            std::mem::take(&mut state.buffers)
        };
        for buffer in buffers.iter().filter_map(Weak::upgrade) {
            buffer.close();
        }
    }

    fn register(&self, buffer: &Arc<EventBuffer>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            buffer.close();
            return;
        }
        state.buffers.retain(|weak| weak.strong_count() > 0);
        state.buffers.push(Arc::downgrade(buffer));
    }
}

/// One `next_event()` source: a bounded buffer filled from an SDK stream by a task on the owned
/// runtime. Dropping it (the foreign object was released) closes the buffer, which ends the task
/// and so the SDK subscription.
pub(crate) struct Puller {
    buffer: Arc<EventBuffer>,
}

impl Puller {
    pub(crate) fn start(
        runtime: &OwnedRuntime,
        registry: &Registry,
        capacity: usize,
        mut stream: chinwag::EventStream,
    ) -> Self {
        let buffer = Arc::new(EventBuffer::new(capacity));
        registry.register(&buffer);
        let filled = buffer.clone();
        runtime.handle().spawn(async move {
            loop {
                tokio::select! {
                    event = stream.recv() => match event {
                        Some(event) => {
                            if !filled.push(event) {
                                break;
                            }
                        }
                        None => break,
                    },
                    () = filled.closed() => break,
                }
            }
            filled.close();
        });
        Self { buffer }
    }

    pub(crate) async fn next(&self) -> Option<Event> {
        crate::exit::Guarded::new(self.buffer.next()).await
    }
}

impl Drop for Puller {
    fn drop(&mut self) {
        self.buffer.close();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn reconnecting(n: u32) -> chinwag::Event {
        chinwag::Event::Reconnecting {
            attempt: n,
            delay: Duration::ZERO,
        }
    }

    fn attempt(event: Option<Event>) -> u32 {
        match event {
            Some(Event::Reconnecting { attempt, .. }) => attempt,
            other => panic!("expected Reconnecting, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_full_buffer_drops_the_oldest_and_reports_how_many() {
        let buffer = EventBuffer::new(3);
        for n in 0..10 {
            assert!(buffer.push(reconnecting(n)));
        }
        assert_eq!(buffer.next().await, Some(Event::Lagged { missed: 7 }));
        for expected in 7..10 {
            assert_eq!(attempt(buffer.next().await), expected);
        }
        assert!(buffer.lock().queue.is_empty());
    }

    #[tokio::test]
    async fn close_drains_then_ends_and_refuses_more() {
        let buffer = EventBuffer::new(10);
        buffer.push(reconnecting(1));
        buffer.close();
        assert!(!buffer.push(reconnecting(2)));
        assert_eq!(attempt(buffer.next().await), 1);
        assert_eq!(buffer.next().await, None);
        assert_eq!(buffer.next().await, None);
    }

    #[tokio::test]
    async fn a_waiting_pull_wakes_on_push_and_on_close() {
        let buffer = Arc::new(EventBuffer::new(10));
        let waiting = tokio::spawn({
            let buffer = buffer.clone();
            async move { buffer.next().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        buffer.push(reconnecting(5));
        assert_eq!(attempt(waiting.await.expect("joined")), 5);

        let waiting = tokio::spawn({
            let buffer = buffer.clone();
            async move { buffer.next().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        buffer.close();
        assert_eq!(waiting.await.expect("joined"), None);
    }

    #[test]
    fn closing_a_registry_closes_its_buffers_now_and_later() {
        let registry = Registry::default();
        let before = Arc::new(EventBuffer::new(1));
        registry.register(&before);
        registry.close();
        assert!(before.lock().closed);
        let after = Arc::new(EventBuffer::new(1));
        registry.register(&after);
        assert!(after.lock().closed);
    }
}
