//! Bringing an app's IM data over from LeanCloud (or from another chinwag server) into a data dir,
//! while no server runs on it. Two sources, for before and after LeanCloud ends (2027-01-12):
//!
//! - **the IM REST API 1.2**, while the app is alive ([`import`], `chinwag-server import --from
//!   …`; [`rest`]): conversations, the whole history, service subscribers, and with
//!   `--with-moderation` shut-up lists, blacklists and managers;
//! - **export files**, all that is left afterwards ([`import_files`], `chinwag-server import
//!   --from-files …`; [`files`]): the storage export's `_Conversation`, `_ConversationMemberInfo`
//!   and `_SysMessage` classes, and history saved from the REST API.
//!
//! Both write the same way (this module), in one transaction per page or batch:
//! - conversations are replaced by the source's (the moderation lists an earlier run brought stay
//!   unless read again); normal conversations' members follow their `m`: the listed ones added
//!   (joined at the conversation's creation), the others removed;
//! - messages are added, or kept when there already unless the source's differs (edited or
//!   recalled since an earlier run); a message whose conversation was not imported (temporary or
//!   deleted) is left out;
//! - at the end, members and subscribers have read everything imported: read positions cannot be
//!   exported, and a first sign-in should not show years of history as unread.
//!
//! So either can be run again (after a failure, or for what is new), and the data dir follows the
//! source. Conversations deleted at the source stay. The row shapes both read are in `rows.rs`.

use std::collections::BTreeMap;

use crate::storage::{ConversationRecord, MessageRecord, SqliteStorage, Storage, StorageError};

pub mod files;
pub mod rest;
mod rows;

pub use files::import_files;
pub use rest::{Source, import};

/// Conversations whose read positions one transaction moves (the last step).
const POSITION_CHUNK: usize = 5_000;

/// What an import brought over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Conversations written (each kind).
    pub conversations: usize,
    /// Members of normal conversations and subscribers of service conversations listed by the
    /// source (written unless there already).
    pub members: usize,
    /// Messages written.
    pub messages: usize,
    /// Messages that were there already (an import run again).
    pub messages_already_there: usize,
    /// Messages of conversations that were not imported (temporary or deleted ones).
    pub messages_without_conversation: usize,
    /// History rows without an id, a conversation or a time, or with bad base64: left out.
    pub messages_unreadable: usize,
    /// Managers of normal conversations (with [`Source::with_moderation`], or from a
    /// `_ConversationMemberInfo` file).
    pub managers: usize,
    /// Export files read (a file import; 0 over the REST API).
    pub files: usize,
}

/// Why an import stopped. What was written before stays (every page is its own transaction),
/// and running the import again brings the rest.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The source could not be reached or answered with an error.
    #[error("{url}: {reason}")]
    Source {
        /// The request.
        url: String,
        /// The HTTP status of the answer, if there was one.
        status: Option<u16>,
        /// What went wrong.
        reason: String,
    },
    /// An export file could not be read.
    #[error("{path}: {reason}")]
    File {
        /// The file (inside an archive: `archive.tar.gz/inner/path`).
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The data dir could not be written.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

impl ImportError {
    /// A 4xx other than 429: the source refused the request for good (not served, not found).
    fn is_refusal(&self) -> bool {
        matches!(self, Self::Source { status: Some(status), .. } if (400..500).contains(status) && *status != 429)
    }
}

/// What an import keeps between its steps: the imported conversations and the counts so far.
#[derive(Debug, Default)]
struct Progress {
    /// The imported conversations by id.
    conversations: BTreeMap<String, Imported>,
    report: Report,
}

/// What the import keeps of a conversation between the steps.
#[derive(Debug)]
struct Imported {
    service: bool,
    /// Whether it is a normal conversation with members.
    has_members: bool,
    /// Whether this import read it (not only found it in the data dir: see [`Progress::stored`]).
    listed: bool,
    /// Its newest imported message (ms; 0 = none).
    last_ts: i64,
}

impl Progress {
    /// Notes `records` (conversations and their members), about to be written.
    fn listed(&mut self, records: &[(ConversationRecord, Vec<String>)]) {
        for (record, members) in records {
            let imported = Imported {
                service: record.system,
                has_members: !members.is_empty(),
                listed: true,
                last_ts: 0,
            };
            self.conversations.insert(record.id.clone(), imported);
            self.report.members += members.len();
        }
        self.report.conversations += records.len();
    }

    /// Notes a conversation this import did not read but found in the data dir (an earlier import
    /// brought it), so that its messages are kept: `service` if a service conversation, `normal`
    /// if neither that nor a chat room.
    fn stored(&mut self, cid: &str, service: bool, normal: bool) {
        let imported = Imported {
            service,
            has_members: normal,
            listed: false,
            last_ts: 0,
        };
        self.conversations.entry(cid.to_owned()).or_insert(imported);
    }

    /// Whether conversation `cid` is known to this import (read, or found in the data dir).
    fn knows(&self, cid: &str) -> bool {
        self.conversations.contains_key(cid)
    }

    /// Whether conversation `cid` was imported (`Some`) and is a service conversation
    /// (`Some(true)`): what [`rows::message_record`] asks.
    fn imported(&self, cid: &str) -> Option<bool> {
        self.conversations.get(cid).map(|c| c.service)
    }

    /// The message a history row was read as (`None`: unreadable), if its conversation was
    /// imported; the others are counted as left out.
    fn message(&mut self, read: Option<MessageRecord>) -> Option<MessageRecord> {
        let Some(message) = read else {
            self.report.messages_unreadable += 1;
            return None;
        };
        match self.conversations.get_mut(&message.cid) {
            Some(conv) => {
                conv.last_ts = conv.last_ts.max(message.timestamp);
                Some(message)
            }
            None => {
                self.report.messages_without_conversation += 1;
                None
            }
        }
    }

    /// Counts `written` new messages of `of` written.
    fn messages_written(&mut self, written: usize, of: usize) {
        self.report.messages += written;
        self.report.messages_already_there += of - written;
    }

    /// Logs the history imported and what was left out of it.
    fn log_history(&self) {
        tracing::info!(messages = self.report.messages, "history imported");
        for (count, what) in [
            (
                self.report.messages_without_conversation,
                "left out: messages of conversations the source did not list (temporary or deleted ones)",
            ),
            (
                self.report.messages_unreadable,
                "left out: history rows without id, conversation or time, or with bad base64",
            ),
        ] {
            if count > 0 {
                tracing::warn!(messages = count, "{what}");
            }
        }
    }

    /// The ids of the imported service conversations.
    fn services(&self) -> Vec<String> {
        self.ids(|c| c.service)
    }

    /// The ids of the normal conversations with members that this import read.
    fn with_members(&self) -> Vec<String> {
        self.ids(|c| c.listed && c.has_members)
    }

    fn ids(&self, which: impl Fn(&Imported) -> bool) -> Vec<String> {
        let chosen = self.conversations.iter().filter(|(_, c)| which(c));
        chosen.map(|(cid, _)| cid.clone()).collect()
    }

    /// Each conversation with members or subscribers and messages, with its newest message:
    /// where their read positions go.
    fn read_positions(&self) -> Vec<(String, i64)> {
        self.conversations
            .iter()
            .filter(|(_, c)| (c.has_members || c.service) && c.last_ts > 0)
            .map(|(cid, c)| (cid.clone(), c.last_ts))
            .collect()
    }
}

/// Runs `write` in one transaction, rolled back if it fails.
fn in_transaction<T>(
    db: &mut SqliteStorage,
    write: impl FnOnce(&mut SqliteStorage) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let result = db.begin().and_then(|()| {
        let value = write(db)?;
        db.commit()?;
        Ok(value)
    });
    if result.is_err() {
        let _ = db.rollback();
    }
    result
}

/// Writes conversations and the members of normal ones ([`sync_members`]). Unless
/// `moderation_read` (the source's shut-up lists and blacklists were read into the records), the
/// ones an earlier run brought stay.
fn write_conversations(
    db: &mut SqliteStorage,
    records: Vec<(ConversationRecord, Vec<String>)>,
    moderation_read: bool,
) -> Result<(), StorageError> {
    for (mut record, members) in records {
        if !moderation_read {
            if let Some((shutup, blocked)) = db.moderation_lists(&record.id)? {
                record.shutup = shutup;
                record.blocked = blocked;
            }
        }
        db.save_conversation(&record)?;
        if !record.transient && !record.system {
            sync_members(db, &record.id, &members, record.created_at)?;
        }
    }
    Ok(())
}

/// Writes `messages`: new ones added, ones already there updated if the source's differs (edited
/// or recalled since). Returns how many were new.
fn write_messages(db: &mut SqliteStorage, messages: &[MessageRecord]) -> Result<usize, StorageError> {
    let mut written = 0;
    for message in messages {
        if db.insert_message_if_new(message)? {
            written += 1;
        } else if db
            .message(&message.cid, &message.id)?
            .is_some_and(|stored| changed_since(&stored, message))
        {
            db.update_message(message)?;
        }
    }
    Ok(written)
}

/// Makes `managers` the managers of normal conversation `cid`; the others (demoted since an
/// earlier run) become plain members. Its owner is its creator.
fn write_managers(db: &mut SqliteStorage, cid: &str, managers: &[String]) -> Result<(), StorageError> {
    db.clear_roles(cid)?;
    managers
        .iter()
        .try_for_each(|client_id| db.set_role(cid, client_id, Some("Manager")))
}

/// Moves the read positions of every member of each `(conversation, newest message)` there.
fn raise_read_positions(db: &mut SqliteStorage, positions: &[(String, i64)]) -> Result<(), StorageError> {
    positions
        .iter()
        .try_for_each(|(cid, last_ts)| db.raise_read_positions(cid, *last_ts))
}

/// Adds the `listed` members of normal conversation `cid` (joined at its creation, nothing read)
/// and removes the stored ones it no longer lists (kicked or gone since an earlier run).
fn sync_members(
    db: &mut SqliteStorage,
    cid: &str,
    listed: &[String],
    created_at: i64,
) -> Result<(), StorageError> {
    db.add_members(cid, listed, 0, created_at)?;
    remove_unlisted(db, cid, |id| listed.iter().any(|listed| listed == id))
}

/// Removes the stored members of `cid` that `listed` does not accept (gone at the source since an
/// earlier run).
fn remove_unlisted(
    db: &mut SqliteStorage,
    cid: &str,
    listed: impl Fn(&str) -> bool,
) -> Result<(), StorageError> {
    let gone: Vec<String> = db.member_ids(cid)?.into_iter().filter(|id| !listed(id)).collect();
    db.remove_members(cid, &gone)
}

/// Whether the source's `message` differs from the `stored` one (edited or recalled since).
/// LeanCloud's history may carry no edit time, so the content decides too.
fn changed_since(stored: &MessageRecord, message: &MessageRecord) -> bool {
    stored.data != message.data
        || stored.binary != message.binary
        || stored.patch_timestamp < message.patch_timestamp
}
