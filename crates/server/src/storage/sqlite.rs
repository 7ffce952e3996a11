//! The embedded SQLite backend: one file in the data directory, WAL journal, numbered migrations
//! tracked in `PRAGMA user_version`.

use std::ops::Bound;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{
    ConversationRecord, HistoryQuery, Loaded, MemberRecord, Membership, MessagePosition, MessageQuery,
    MessageRecord, MessageScope, NotificationRecord, RevokedTokenRecord, Storage, StorageError,
    StorageResult, TimedShutupRecord, UnreadCount,
};

/// How far a commit goes before [`Storage::commit`] returns, and so before the hub acknowledges
/// the messages of its batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Every commit is synced to disk (SQLite's `synchronous = FULL`): an acknowledged message
    /// survives a process crash, an OS crash and a power loss. One sync per batch (group commit).
    #[default]
    Full,
    /// Commits reach the OS, and the disk at checkpoints (`synchronous = NORMAL` in WAL mode):
    /// an acknowledged message survives a process crash, but an OS crash or a power loss may roll
    /// back the last commits. Faster where a sync is slow.
    Normal,
}

impl SyncMode {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// A [`SyncMode`] name other than `full` or `normal`.
#[derive(Debug, thiserror::Error)]
#[error("unknown sync mode {0:?} (expected `full` or `normal`)")]
pub struct UnknownSyncMode(String);

impl std::str::FromStr for SyncMode {
    type Err = UnknownSyncMode;

    /// `full` or `normal`, as on the command line (`--sync`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(UnknownSyncMode(other.to_owned())),
        }
    }
}

/// Schema migrations; migration `n` (1-based) brings the database to `user_version = n`.
/// Append new migrations; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: conversations, members with read positions, messages indexed by (cid, ts, id).
    "CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        creator TEXT NOT NULL,
        transient INTEGER NOT NULL,
        system INTEGER NOT NULL,
        unique_key TEXT,
        attrs TEXT NOT NULL,
        muted TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX conversations_unique_key ON conversations(unique_key) WHERE unique_key IS NOT NULL;
    CREATE TABLE members (
        cid TEXT NOT NULL,
        client_id TEXT NOT NULL,
        read_ts INTEGER NOT NULL DEFAULT 0,
        ack_ts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (cid, client_id)
    ) WITHOUT ROWID;
    CREATE INDEX members_client ON members(client_id);
    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        cid TEXT NOT NULL,
        from_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        data TEXT,
        bin BLOB,
        mention_all INTEGER NOT NULL,
        mention_pids TEXT NOT NULL,
        dt TEXT,
        receipt INTEGER NOT NULL,
        patch_ts INTEGER,
        lctype INTEGER
    );
    CREATE INDEX messages_cid_ts ON messages(cid, ts, id);
    CREATE INDEX messages_dt ON messages(from_id, dt) WHERE dt IS NOT NULL;",
    // 2: find edited and recalled messages by conversation and patch time.
    "CREATE INDEX messages_patched ON messages(cid, patch_ts) WHERE patch_ts IS NOT NULL;",
    // 3: temporary conversations expire.
    "ALTER TABLE conversations ADD COLUMN expires_at INTEGER;",
    // 4: conversation events kept per member for clients that were offline.
    "CREATE TABLE notifications (
        seq INTEGER PRIMARY KEY,
        client_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        cmd TEXT NOT NULL,
        op TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX notifications_client_ts ON notifications(client_id, ts);",
    // 5: moderation lists (shut-up members, blocked clients) as JSON arrays.
    "ALTER TABLE conversations ADD COLUMN shutup TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE conversations ADD COLUMN blocked TEXT NOT NULL DEFAULT '[]';",
    // 6: member roles.
    "ALTER TABLE members ADD COLUMN role TEXT;",
    // 7: REST API 1.2: who a message is for (`audience`, a JSON array; NULL = every member), so a
    // service conversation keeps messages sent to chosen users (`to_clients`) and subscribers'
    // own messages apart from broadcasts; history across conversations by sender and by time.
    // Messages stored before this by a current subscriber of a service conversation were sent by
    // that subscriber (broadcasts come from the backend), so they get the empty audience.
    "ALTER TABLE messages ADD COLUMN audience TEXT;
    UPDATE messages SET audience = '[]' WHERE EXISTS (
        SELECT 1 FROM conversations c JOIN members m ON m.cid = c.id
        WHERE c.id = messages.cid AND c.system = 1 AND m.client_id = messages.from_id);
    CREATE INDEX messages_from_ts ON messages(from_id, ts, id);
    CREATE INDEX messages_ts ON messages(ts, id);",
    // 8: why a message was edited or recalled by the server side (`patchCode`/`patchReason`).
    "ALTER TABLE messages ADD COLUMN patch_code INTEGER;
    ALTER TABLE messages ADD COLUMN patch_reason TEXT;",
    // 9: messages that asked for receipts, by conversation and time: the receipt query of acks and
    // reads, and the newest one per conversation loaded at start-up, read this small index only.
    "CREATE INDEX messages_receipt ON messages(cid, ts) WHERE receipt = 1;",
    // 10: session tokens revoked before their expiry, so a restart does not make them valid again;
    // pruned by expiry.
    "CREATE TABLE revoked_tokens (
        token TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL,
        code INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX revoked_tokens_expiry ON revoked_tokens(expires_at);",
    // 11: REST API 1.2 completions: when each member joined (subscriber lists and a client's
    // subscriptions, 0 for earlier members; the new index also serves every lookup by client id,
    // so it replaces `members_client`), members shut up until a set time, which clients signed in
    // on which UTC day (`GET /1.2/rtm/stats`), and the conversations each client blocked.
    "ALTER TABLE members ADD COLUMN joined_at INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX members_client_joined ON members(client_id, joined_at, cid);
    DROP INDEX members_client;
    CREATE TABLE timed_shutups (
        cid TEXT NOT NULL,
        client_id TEXT NOT NULL,
        until INTEGER NOT NULL,
        PRIMARY KEY (cid, client_id)
    ) WITHOUT ROWID;
    CREATE TABLE sign_ins (
        day INTEGER NOT NULL,
        client_id TEXT NOT NULL,
        PRIMARY KEY (day, client_id)
    ) WITHOUT ROWID;
    CREATE TABLE client_blocks (
        client_id TEXT NOT NULL,
        cid TEXT NOT NULL,
        PRIMARY KEY (client_id, cid)
    ) WITHOUT ROWID;",
    // 12: when an imported conversation's last message was sent, as its source said (`lm`), for
    // conversations whose history did not come with it.
    "ALTER TABLE conversations ADD COLUMN last_message_at INTEGER;",
];

const MESSAGE_COLUMNS: &str = "id, cid, from_id, ts, data, bin, mention_all, mention_pids, dt, receipt, patch_ts, lctype, audience, patch_code, patch_reason";

/// Stores a message; a constant, so each insert finds its cached statement without building the
/// SQL text first. The column list must match [`MESSAGE_COLUMNS`] (checked by a test).
const INSERT_MESSAGE: &str = "INSERT INTO messages (id, cid, from_id, ts, data, bin, mention_all, mention_pids, dt, receipt, patch_ts, lctype, audience, patch_code, patch_reason)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// [`INSERT_MESSAGE`] that leaves a message whose id is stored already (the importer's).
const INSERT_MESSAGE_IF_NEW: &str = "INSERT OR IGNORE INTO messages (id, cid, from_id, ts, data, bin, mention_all, mention_pids, dt, receipt, patch_ts, lctype, audience, patch_code, patch_reason)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// Distinct statements the connection keeps prepared. rusqlite's default (16) is fewer than the
/// distinct statements this storage prepares (about 25), so a varied mix of commands would evict
/// and re-parse some of them.
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// SQLite storage in `<data dir>/chinwag.sqlite3`.
#[derive(Debug)]
pub struct SqliteStorage {
    db: Connection,
}

impl SqliteStorage {
    /// Opens (creating if needed) the database in `data_dir` and applies pending migrations;
    /// every commit is synced to disk ([`SyncMode::Full`]).
    pub fn open(data_dir: &Path) -> StorageResult<Self> {
        Self::open_with(data_dir, SyncMode::Full)
    }

    /// [`SqliteStorage::open`] with the given [`SyncMode`].
    pub fn open_with(data_dir: &Path, sync: SyncMode) -> StorageResult<Self> {
        std::fs::create_dir_all(data_dir)?;
        Self::from_connection(Connection::open(data_dir.join("chinwag.sqlite3"))?, sync)
    }

    /// An in-memory database (tests).
    pub fn in_memory() -> StorageResult<Self> {
        Self::from_connection(Connection::open_in_memory()?, SyncMode::Full)
    }

    fn from_connection(db: Connection, sync: SyncMode) -> StorageResult<Self> {
        // WAL lets readers proceed during the writer's commit.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", sync.pragma())?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        // Without the query planner stability guarantee, SQLite (built with STAT4) ties a plan to
        // the bound values where they could change it, so statements like the sign-in unread
        // query and the receipt query were re-parsed and re-planned on every run (≈ 160,000
        // instructions each). The indexes they use do not depend on the values.
        db.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut storage = Self { db };
        storage.migrate()?;
        Ok(storage)
    }

    fn migrate(&mut self) -> StorageResult<()> {
        let current: i64 = self
            .db
            .pragma_query_value(None, "user_version", |row| row.get(0))?;
        let supported = MIGRATIONS.len() as i64;
        if current > supported {
            return Err(StorageError::SchemaTooNew {
                found: current,
                supported,
            });
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = self.db.transaction()?;
            tx.execute_batch(migration)?;
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
            tracing::info!(version = index + 1, "applied storage migration");
        }
        Ok(())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> StorageResult<i64> {
        Ok(self
            .db
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// For the importer: stores `message` unless a message with its id is there already
    /// (message ids are unique across conversations); returns whether it was stored.
    pub fn insert_message_if_new(&mut self, message: &MessageRecord) -> StorageResult<bool> {
        Ok(self.insert_message_with(INSERT_MESSAGE_IF_NEW, message)? == 1)
    }

    /// Runs `sql` ([`INSERT_MESSAGE`] or [`INSERT_MESSAGE_IF_NEW`]) for `m`; returns the rows
    /// inserted.
    fn insert_message_with(&mut self, sql: &str, m: &MessageRecord) -> StorageResult<usize> {
        Ok(self.db.prepare_cached(sql)?.execute(params![
            m.id,
            m.cid,
            m.from,
            m.timestamp,
            m.data,
            m.binary,
            m.mention_all,
            serde_json::to_string(&m.mention_pids)?,
            m.dt,
            m.receipt,
            m.patch_timestamp,
            m.lctype,
            m.audience.as_ref().map(serde_json::to_string).transpose()?,
            m.patch_code,
            m.patch_reason
        ])?)
    }

    /// For the importer: the shut-up list and blacklist stored for conversation `cid`, if it is
    /// stored.
    pub fn moderation_lists(&mut self, cid: &str) -> StorageResult<Option<(Vec<String>, Vec<String>)>> {
        let lists: Option<(String, String)> = self
            .db
            .prepare_cached("SELECT shutup, blocked FROM conversations WHERE id = ?1")?
            .query_row(params![cid], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        lists
            .map(|(shutup, blocked)| Ok((json_list(&shutup)?, json_list(&blocked)?)))
            .transpose()
    }

    /// For the importer: whether conversation `cid` is stored, and if so whether it is a chat room
    /// and whether a service conversation (`(transient, system)`).
    pub fn conversation_kind(&mut self, cid: &str) -> StorageResult<Option<(bool, bool)>> {
        Ok(self
            .db
            .prepare_cached("SELECT transient, system FROM conversations WHERE id = ?1")?
            .query_row(params![cid], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?)
    }

    /// For the importer: moves the read and ack positions of every member of `cid` up to `ts`
    /// (never back).
    pub fn raise_read_positions(&mut self, cid: &str, ts: i64) -> StorageResult<()> {
        self.db
            .prepare_cached(
                "UPDATE members SET read_ts = MAX(read_ts, ?2), ack_ts = MAX(ack_ts, ?2) WHERE cid = ?1",
            )?
            .execute(params![cid, ts])?;
        Ok(())
    }

    /// For the importer: the client ids of the stored members of `cid`.
    pub fn member_ids(&mut self, cid: &str) -> StorageResult<Vec<String>> {
        Ok(self
            .db
            .prepare_cached("SELECT client_id FROM members WHERE cid = ?1")?
            .query_map(params![cid], |row| row.get(0))?
            .collect::<Result<_, _>>()?)
    }

    /// For the importer: every member of `cid` back to the default role.
    pub fn clear_roles(&mut self, cid: &str) -> StorageResult<()> {
        self.db
            .prepare_cached("UPDATE members SET role = NULL WHERE cid = ?1 AND role IS NOT NULL")?
            .execute(params![cid])?;
        Ok(())
    }
}

/// Column `index` of `row` as text borrowed from the row (no allocation).
fn text<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<&'r str> {
    row.get_ref(index)?.as_str().map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(error))
    })
}

/// A stored JSON list of client ids; the common empty one without running the parser.
fn json_list(text: &str) -> Result<Vec<String>, serde_json::Error> {
    if text == "[]" {
        Ok(Vec::new())
    } else {
        serde_json::from_str(text)
    }
}

fn membership_from_row(row: &Row<'_>) -> rusqlite::Result<Membership> {
    Ok(Membership {
        cid: row.get(0)?,
        client_id: row.get(1)?,
        joined_at: row.get(2)?,
    })
}

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<MessageRecord> {
    let pids: String = row.get(7)?;
    let audience: Option<String> = row.get(12)?;
    Ok(MessageRecord {
        id: row.get(0)?,
        cid: row.get(1)?,
        from: row.get(2)?,
        timestamp: row.get(3)?,
        data: row.get(4)?,
        binary: row.get(5)?,
        mention_all: row.get(6)?,
        mention_pids: serde_json::from_str(&pids).unwrap_or_default(),
        dt: row.get(8)?,
        receipt: row.get(9)?,
        patch_timestamp: row.get(10)?,
        lctype: row.get(11)?,
        audience: audience.and_then(|a| serde_json::from_str(&a).ok()),
        patch_code: row.get(13)?,
        patch_reason: row.get(14)?,
    })
}

impl Storage for SqliteStorage {
    fn begin(&mut self) -> StorageResult<()> {
        self.db.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    fn commit(&mut self) -> StorageResult<()> {
        self.db.execute_batch("COMMIT")?;
        Ok(())
    }

    fn rollback(&mut self) -> StorageResult<()> {
        if !self.db.is_autocommit() {
            self.db.execute_batch("ROLLBACK")?;
        }
        Ok(())
    }

    fn load_into(&mut self, sink: &mut dyn FnMut(Loaded<'_>)) -> StorageResult<()> {
        let mut stmt = self.db.prepare(
            "SELECT id, creator, transient, system, unique_key, attrs, muted, created_at, updated_at,
             expires_at, shutup, blocked, last_message_at FROM conversations",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            // JSON columns are parsed from the row's own text, so a corrupt one is a StorageError.
            sink(Loaded::Conversation(ConversationRecord {
                id: row.get(0)?,
                creator: row.get(1)?,
                transient: row.get(2)?,
                system: row.get(3)?,
                unique_key: row.get(4)?,
                attrs: serde_json::from_str(text(row, 5)?)?,
                muted: json_list(text(row, 6)?)?,
                shutup: json_list(text(row, 10)?)?,
                blocked: json_list(text(row, 11)?)?,
                expires_at: row.get(9)?,
                created_at: row.get(7)?,
                updated_at: row.get(8)?,
                last_message_at: row.get(12)?,
            }));
        }
        drop(rows);
        drop(stmt);
        let mut stmt = self
            .db
            .prepare("SELECT cid, client_id, read_ts, ack_ts, role FROM members ORDER BY cid, client_id")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            sink(Loaded::Member {
                cid: text(row, 0)?,
                client_id: text(row, 1)?,
                read_ts: row.get(2)?,
                ack_ts: row.get(3)?,
                role: row.get(4)?,
            });
        }
        drop(rows);
        drop(stmt);
        // One index probe per conversation, inside a single statement: its newest message, and
        // when that one is for an audience only, also its newest message for everyone (the
        // conversation's last message; the newest gives the time new messages must follow). A
        // service conversation's last message is its newest, as the hub keeps it.
        let mut stmt = self.db.prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE seq IN (
                SELECT (SELECT seq FROM messages m WHERE m.cid = c.id ORDER BY ts DESC, id DESC LIMIT 1)
                FROM conversations c
                UNION
                SELECT (SELECT seq FROM messages m WHERE m.cid = c.id AND (m.audience IS NULL OR c.system = 1)
                        ORDER BY ts DESC, id DESC LIMIT 1)
                FROM conversations c)"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            sink(Loaded::LastMessage(message_from_row(row)?));
        }
        drop(rows);
        drop(stmt);
        let mut stmt = self
            .db
            .prepare("SELECT cid, MAX(ts) FROM messages WHERE receipt = 1 GROUP BY cid")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            sink(Loaded::LatestReceipt {
                cid: text(row, 0)?,
                ts: row.get(1)?,
            });
        }
        Ok(())
    }

    fn save_conversation(&mut self, c: &ConversationRecord) -> StorageResult<()> {
        self.db
            .prepare_cached(
                "INSERT OR REPLACE INTO conversations
                 (id, creator, transient, system, unique_key, attrs, muted, created_at, updated_at, expires_at,
                  shutup, blocked, last_message_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                c.id,
                c.creator,
                c.transient,
                c.system,
                c.unique_key,
                serde_json::to_string(&c.attrs)?,
                serde_json::to_string(&c.muted)?,
                c.created_at,
                c.updated_at,
                c.expires_at,
                serde_json::to_string(&c.shutup)?,
                serde_json::to_string(&c.blocked)?,
                c.last_message_at
            ])?;
        Ok(())
    }

    fn add_members(
        &mut self,
        cid: &str,
        client_ids: &[String],
        read_ts: i64,
        joined_at: i64,
    ) -> StorageResult<()> {
        let mut stmt = self.db.prepare_cached(
            "INSERT OR IGNORE INTO members (cid, client_id, read_ts, ack_ts, joined_at)
             VALUES (?1, ?2, ?3, ?3, ?4)",
        )?;
        for client in client_ids {
            stmt.execute(params![cid, client, read_ts, joined_at])?;
        }
        Ok(())
    }

    fn members_page(&mut self, cid: &str, after: Option<&str>, limit: u32) -> StorageResult<Vec<Membership>> {
        Ok(self
            .db
            .prepare_cached(
                "SELECT cid, client_id, joined_at FROM members
                 WHERE cid = ?1 AND (?2 IS NULL OR client_id > ?2) ORDER BY client_id LIMIT ?3",
            )?
            .query_map(params![cid, after, limit], membership_from_row)?
            .collect::<Result<_, _>>()?)
    }

    fn subscriptions_page(
        &mut self,
        client_id: &str,
        after: Option<(i64, &str)>,
        newest_first: bool,
        limit: u32,
    ) -> StorageResult<Vec<Membership>> {
        // Two constant statements rather than one built per call: each stays prepared.
        let sql = if newest_first {
            "SELECT m.cid, m.client_id, m.joined_at FROM members m JOIN conversations c ON c.id = m.cid
             WHERE m.client_id = ?1 AND c.system = 1
               AND (?2 IS NULL OR (m.joined_at, m.cid) < (?2, ?3))
             ORDER BY m.joined_at DESC, m.cid DESC LIMIT ?4"
        } else {
            "SELECT m.cid, m.client_id, m.joined_at FROM members m JOIN conversations c ON c.id = m.cid
             WHERE m.client_id = ?1 AND c.system = 1
               AND (?2 IS NULL OR (m.joined_at, m.cid) > (?2, ?3))
             ORDER BY m.joined_at, m.cid LIMIT ?4"
        };
        let (at, cid) = after.unzip();
        Ok(self
            .db
            .prepare_cached(sql)?
            .query_map(params![client_id, at, cid, limit], membership_from_row)?
            .collect::<Result<_, _>>()?)
    }

    fn remove_members(&mut self, cid: &str, client_ids: &[String]) -> StorageResult<()> {
        let mut stmt = self
            .db
            .prepare_cached("DELETE FROM members WHERE cid = ?1 AND client_id = ?2")?;
        for client in client_ids {
            stmt.execute(params![cid, client])?;
        }
        Ok(())
    }

    fn set_role(&mut self, cid: &str, client_id: &str, role: Option<&str>) -> StorageResult<()> {
        self.db
            .prepare_cached("UPDATE members SET role = ?3 WHERE cid = ?1 AND client_id = ?2")?
            .execute(params![cid, client_id, role])?;
        Ok(())
    }

    fn set_position(&mut self, m: &MemberRecord) -> StorageResult<()> {
        self.db
            .prepare_cached("UPDATE members SET read_ts = ?3, ack_ts = ?4 WHERE cid = ?1 AND client_id = ?2")?
            .execute(params![m.cid, m.client_id, m.read_ts, m.ack_ts])?;
        Ok(())
    }

    fn insert_message(&mut self, m: &MessageRecord) -> StorageResult<()> {
        self.insert_message_with(INSERT_MESSAGE, m).map(drop)
    }

    fn update_message(&mut self, m: &MessageRecord) -> StorageResult<()> {
        self.db
            .prepare_cached(
                "UPDATE messages SET data = ?3, bin = ?4, mention_all = ?5, mention_pids = ?6,
                 patch_ts = ?7, lctype = ?8, patch_code = ?9, patch_reason = ?10
                 WHERE id = ?1 AND cid = ?2",
            )?
            .execute(params![
                m.id,
                m.cid,
                m.data,
                m.binary,
                m.mention_all,
                serde_json::to_string(&m.mention_pids)?,
                m.patch_timestamp,
                m.lctype,
                m.patch_code,
                m.patch_reason
            ])?;
        Ok(())
    }

    fn patched_since(&mut self, client_id: &str, since: i64) -> StorageResult<Vec<MessageRecord>> {
        let columns = MESSAGE_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(self
            .db
            .prepare_cached(&format!(
                "SELECT {columns} FROM members mb JOIN messages m
                 ON m.cid = mb.cid AND m.patch_ts > ?2
                 WHERE mb.client_id = ?1 ORDER BY m.patch_ts LIMIT 1000"
            ))?
            .query_map(params![client_id, since], message_from_row)?
            .collect::<Result<_, _>>()?)
    }

    fn find_by_dt(&mut self, from: &str, dt: &str) -> StorageResult<Option<MessageRecord>> {
        Ok(self
            .db
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE from_id = ?1 AND dt = ?2 LIMIT 1"
            ))?
            .query_row(params![from, dt], message_from_row)
            .optional()?)
    }

    fn message(&mut self, cid: &str, id: &str) -> StorageResult<Option<MessageRecord>> {
        Ok(self
            .db
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1 AND cid = ?2"
            ))?
            .query_row(params![id, cid], message_from_row)
            .optional()?)
    }

    fn history(&mut self, q: &HistoryQuery) -> StorageResult<Vec<MessageRecord>> {
        let (lower_op, lower) = match q.lower {
            Bound::Included(t) => (">=", t),
            Bound::Excluded(t) => (">", t),
            Bound::Unbounded => (">=", i64::MIN),
        };
        let (upper_op, upper) = match q.upper {
            Bound::Included(t) => ("<=", t),
            Bound::Excluded(t) => ("<", t),
            Bound::Unbounded => ("<=", i64::MAX),
        };
        let order = if q.newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE cid = ?1 AND ts {lower_op} ?2 AND ts {upper_op} ?3 AND (?4 IS NULL OR lctype = ?4)
               AND (?6 IS NULL OR audience IS NULL OR from_id = ?6
                    OR EXISTS (SELECT 1 FROM json_each(messages.audience) WHERE value = ?6))
             ORDER BY ts {order}, id {order} LIMIT ?5"
        );
        let mut messages: Vec<MessageRecord> = self
            .db
            .prepare_cached(&sql)?
            .query_map(
                params![q.cid, lower, upper, q.lctype, q.limit, q.viewer],
                message_from_row,
            )?
            .collect::<Result<_, _>>()?;
        if q.newest_first {
            messages.reverse();
        }
        Ok(messages)
    }

    fn messages_where(&mut self, q: &MessageQuery) -> StorageResult<Vec<MessageRecord>> {
        // A bound is a timestamp, or a (timestamp, message id) position when the id is known
        // (timestamps are unique within a conversation, not across them).
        fn bound_sql(column: &str, op: &str, at: &MessagePosition, param: usize) -> String {
            match at.id {
                Some(_) => format!("({column}, id) {op} (?{param}, ?{})", param + 1),
                None => format!("{column} {op} ?{param}"),
            }
        }
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let mut push = |value: rusqlite::types::Value| {
            values.push(value);
            values.len()
        };
        match &q.scope {
            MessageScope::App => {}
            MessageScope::Conversation(cid) => {
                let n = push(cid.clone().into());
                conditions.push(format!("cid = ?{n}"));
            }
            MessageScope::Broadcasts(cid) => {
                let n = push(cid.clone().into());
                conditions.push(format!("cid = ?{n} AND audience IS NULL"));
            }
            MessageScope::Sender(from) => {
                let n = push(from.clone().into());
                conditions.push(format!("from_id = ?{n}"));
            }
            MessageScope::Subscriber { cid, client_id } => {
                let c = push(cid.clone().into());
                let m = push(client_id.clone().into());
                conditions.push(format!(
                    "cid = ?{c} AND (audience IS NULL OR from_id = ?{m}
                     OR EXISTS (SELECT 1 FROM json_each(messages.audience) WHERE value = ?{m}))"
                ));
            }
        }
        if q.exclude_service {
            conditions.push("cid NOT IN (SELECT id FROM conversations WHERE system = 1)".into());
        }
        for (at, op) in [(&q.lower, ">"), (&q.upper, "<")] {
            if let Some(at) = at {
                let op = if at.inclusive {
                    format!("{op}=")
                } else {
                    op.to_owned()
                };
                let n = push(at.ts.into());
                if let Some(id) = &at.id {
                    push(id.clone().into());
                }
                conditions.push(bound_sql("ts", &op, at, n));
            }
        }
        let order = if q.newest_first { "DESC" } else { "ASC" };
        let n = push(i64::from(q.limit).into());
        push(i64::from(q.offset).into());
        let filter = if conditions.is_empty() {
            "1".to_owned()
        } else {
            conditions.join(" AND ")
        };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE {filter} ORDER BY ts {order}, id {order} LIMIT ?{n} OFFSET ?{}",
            n + 1
        );
        Ok(self
            .db
            .prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(values), message_from_row)?
            .collect::<Result<_, _>>()?)
    }

    fn delete_message(&mut self, cid: Option<&str>, id: &str) -> StorageResult<Option<MessageRecord>> {
        let found = self
            .db
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1 AND (?2 IS NULL OR cid = ?2)"
            ))?
            .query_row(params![id, cid], message_from_row)
            .optional()?;
        if found.is_some() {
            self.db
                .prepare_cached("DELETE FROM messages WHERE id = ?1")?
                .execute(params![id])?;
        }
        Ok(found)
    }

    fn delete_conversation(&mut self, cid: &str) -> StorageResult<()> {
        for sql in [
            "DELETE FROM messages WHERE cid = ?1",
            "DELETE FROM members WHERE cid = ?1",
            "DELETE FROM timed_shutups WHERE cid = ?1",
            "DELETE FROM conversations WHERE id = ?1",
        ] {
            self.db.prepare_cached(sql)?.execute(params![cid])?;
        }
        Ok(())
    }

    fn receipt_messages(
        &mut self,
        cid: &str,
        after: i64,
        up_to: i64,
        not_from: &str,
    ) -> StorageResult<Vec<MessageRecord>> {
        Ok(self
            .db
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE cid = ?1 AND ts > ?2 AND ts <= ?3 AND receipt = 1 AND from_id != ?4
                 ORDER BY ts"
            ))?
            .query_map(params![cid, after, up_to, not_from], message_from_row)?
            .collect::<Result<_, _>>()?)
    }

    fn add_notification(&mut self, n: &NotificationRecord) -> StorageResult<()> {
        self.db
            .prepare_cached(
                "INSERT INTO notifications (client_id, ts, cmd, op, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                n.client_id,
                n.ts,
                n.cmd,
                n.op,
                serde_json::to_string(&n.payload)?
            ])?;
        Ok(())
    }

    fn prune_notifications(&mut self, before: i64) -> StorageResult<usize> {
        Ok(self
            .db
            .prepare_cached("DELETE FROM notifications WHERE ts < ?1")?
            .execute(params![before])?)
    }

    fn notifications_since(
        &mut self,
        client_id: &str,
        since: i64,
        limit: u32,
    ) -> StorageResult<Vec<NotificationRecord>> {
        let rows: Vec<(NotificationRecord, String)> = self
            .db
            .prepare_cached(
                "SELECT client_id, ts, cmd, op, payload FROM notifications
                 WHERE client_id = ?1 AND ts > ?2 ORDER BY ts, seq LIMIT ?3",
            )?
            .query_map(params![client_id, since, limit], |row| {
                Ok((
                    NotificationRecord {
                        client_id: row.get(0)?,
                        ts: row.get(1)?,
                        cmd: row.get(2)?,
                        op: row.get(3)?,
                        payload: serde_json::Map::new(),
                    },
                    row.get(4)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(mut n, payload)| {
                n.payload = serde_json::from_str(&payload)?;
                Ok(n)
            })
            .collect()
    }

    fn revoke_token(&mut self, r: &RevokedTokenRecord) -> StorageResult<()> {
        self.db
            .prepare_cached(
                "INSERT OR REPLACE INTO revoked_tokens (token, expires_at, code) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![r.token, r.expires_at, r.code])?;
        Ok(())
    }

    fn revoked_tokens(&mut self) -> StorageResult<Vec<RevokedTokenRecord>> {
        Ok(self
            .db
            .prepare("SELECT token, expires_at, code FROM revoked_tokens")?
            .query_map([], |row| {
                Ok(RevokedTokenRecord {
                    token: row.get(0)?,
                    expires_at: row.get(1)?,
                    code: row.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    fn prune_revoked_tokens(&mut self, now: i64) -> StorageResult<usize> {
        Ok(self
            .db
            .prepare_cached("DELETE FROM revoked_tokens WHERE expires_at <= ?1")?
            .execute(params![now])?)
    }

    fn set_timed_shutup(&mut self, cid: &str, client_id: &str, until: Option<i64>) -> StorageResult<()> {
        match until {
            Some(until) => self
                .db
                .prepare_cached(
                    "INSERT OR REPLACE INTO timed_shutups (cid, client_id, until) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![cid, client_id, until])?,
            None => self
                .db
                .prepare_cached("DELETE FROM timed_shutups WHERE cid = ?1 AND client_id = ?2")?
                .execute(params![cid, client_id])?,
        };
        Ok(())
    }

    fn timed_shutups(&mut self) -> StorageResult<Vec<TimedShutupRecord>> {
        Ok(self
            .db
            .prepare("SELECT cid, client_id, until FROM timed_shutups")?
            .query_map([], |row| {
                Ok(TimedShutupRecord {
                    cid: row.get(0)?,
                    client_id: row.get(1)?,
                    until: row.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    fn prune_timed_shutups(&mut self, now: i64) -> StorageResult<usize> {
        Ok(self
            .db
            .prepare_cached("DELETE FROM timed_shutups WHERE until <= ?1")?
            .execute(params![now])?)
    }

    fn set_client_block(&mut self, client_id: &str, cid: &str, blocked: bool) -> StorageResult<()> {
        let sql = if blocked {
            "INSERT OR IGNORE INTO client_blocks (client_id, cid) VALUES (?1, ?2)"
        } else {
            "DELETE FROM client_blocks WHERE client_id = ?1 AND cid = ?2"
        };
        self.db.prepare_cached(sql)?.execute(params![client_id, cid])?;
        Ok(())
    }

    fn client_blocks(&mut self) -> StorageResult<Vec<(String, String)>> {
        Ok(self
            .db
            .prepare("SELECT client_id, cid FROM client_blocks ORDER BY client_id, cid")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?)
    }

    fn record_sign_in(&mut self, day: i64, client_id: &str) -> StorageResult<()> {
        self.db
            .prepare_cached("INSERT OR IGNORE INTO sign_ins (day, client_id) VALUES (?1, ?2)")?
            .execute(params![day, client_id])?;
        Ok(())
    }

    fn clients_signed_in_on(&mut self, day: i64) -> StorageResult<u64> {
        let count: i64 = self
            .db
            .prepare_cached("SELECT COUNT(*) FROM sign_ins WHERE day = ?1")?
            .query_row(params![day], |row| row.get(0))?;
        Ok(count.unsigned_abs())
    }

    fn prune_sign_ins(&mut self, before_day: i64) -> StorageResult<usize> {
        Ok(self
            .db
            .prepare_cached("DELETE FROM sign_ins WHERE day < ?1")?
            .execute(params![before_day])?)
    }

    fn unread_counts(&mut self, client_id: &str, since: i64) -> StorageResult<Vec<UnreadCount>> {
        let quoted = serde_json::to_string(client_id)?;
        Ok(self
            .db
            .prepare_cached(
                "SELECT m.cid, COUNT(*), MAX(m.mention_all OR instr(m.mention_pids, ?2) > 0)
                 FROM members mb JOIN messages m ON m.cid = mb.cid AND m.ts > mb.read_ts
                 WHERE mb.client_id = ?1 AND m.from_id != ?1
                   AND (m.audience IS NULL
                        OR EXISTS (SELECT 1 FROM json_each(m.audience) WHERE value = ?1))
                 GROUP BY m.cid HAVING MAX(m.ts) > ?3
                 ORDER BY m.cid",
            )?
            .query_map(params![client_id, quoted, since], |row| {
                Ok(UnreadCount {
                    cid: row.get(0)?,
                    unread: row.get(1)?,
                    mentioned: row.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_message_names_the_message_columns() {
        assert!(INSERT_MESSAGE.starts_with(&format!("INSERT INTO messages ({MESSAGE_COLUMNS})")));
        assert_eq!(
            INSERT_MESSAGE_IF_NEW,
            INSERT_MESSAGE.replacen("INSERT", "INSERT OR IGNORE", 1)
        );
    }

    #[test]
    fn migration_7_tells_subscriber_messages_from_broadcasts() {
        // A database as version 6 left it: a service conversation with one subscriber, a
        // broadcast and a message the subscriber sent.
        let db = Connection::open_in_memory().expect("db");
        for migration in &MIGRATIONS[..6] {
            db.execute_batch(migration).expect("old migration");
        }
        db.pragma_update(None, "user_version", 6).expect("version");
        db.execute_batch(
            "INSERT INTO conversations (id, creator, transient, system, attrs, muted, created_at, updated_at)
             VALUES ('svc', '', 0, 1, '{}', '[]', 0, 0), ('chat', 'Tom', 0, 0, '{}', '[]', 0, 0);
             INSERT INTO members (cid, client_id) VALUES ('svc', 'Tom'), ('chat', 'Tom');
             INSERT INTO messages (id, cid, from_id, ts, mention_all, mention_pids, receipt) VALUES
                 ('b', 'svc', 'bot', 1, 0, '[]', 0), ('s', 'svc', 'Tom', 2, 0, '[]', 0),
                 ('c', 'chat', 'Tom', 3, 0, '[]', 0);",
        )
        .expect("old rows");
        let mut storage = SqliteStorage::from_connection(db, SyncMode::Full).expect("migrated");
        let audience = |storage: &mut SqliteStorage, cid: &str, id: &str| {
            storage.message(cid, id).expect("read").expect("kept").audience
        };
        assert_eq!(
            audience(&mut storage, "svc", "b"),
            None,
            "a broadcast is for everyone"
        );
        assert_eq!(
            audience(&mut storage, "svc", "s"),
            Some(Vec::new()),
            "for the service only"
        );
        assert_eq!(audience(&mut storage, "chat", "c"), None);
    }

    #[test]
    fn migration_11_keeps_earlier_members_with_no_join_time() {
        // A database as version 10 left it: a subscriber of a service conversation.
        let db = Connection::open_in_memory().expect("db");
        for migration in &MIGRATIONS[..10] {
            db.execute_batch(migration).expect("old migration");
        }
        db.pragma_update(None, "user_version", 10).expect("version");
        db.execute_batch(
            "INSERT INTO conversations (id, creator, transient, system, attrs, muted, created_at, updated_at)
             VALUES ('svc', '', 0, 1, '{}', '[]', 0, 0);
             INSERT INTO members (cid, client_id) VALUES ('svc', 'Tom');",
        )
        .expect("old rows");
        let mut storage = SqliteStorage::from_connection(db, SyncMode::Full).expect("migrated");
        storage
            .add_members("svc", &["Jerry".into()], 0, 1_000)
            .expect("added");
        let joined: Vec<(String, i64)> = storage
            .members_page("svc", None, 10)
            .expect("page")
            .into_iter()
            .map(|m| (m.client_id, m.joined_at))
            .collect();
        assert_eq!(joined, [("Jerry".to_owned(), 1_000), ("Tom".to_owned(), 0)]);
        let tom = storage.subscriptions_page("Tom", None, false, 10).expect("page");
        assert_eq!(tom.len(), 1);
    }

    #[test]
    fn the_sync_mode_sets_how_commits_reach_the_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let synchronous = |storage: &SqliteStorage| -> i64 {
            storage
                .db
                .pragma_query_value(None, "synchronous", |row| row.get(0))
                .expect("pragma")
        };
        // SQLite's numbers: NORMAL = 1, FULL = 2.
        let storage = SqliteStorage::open(dir.path()).expect("open");
        assert_eq!(synchronous(&storage), 2, "full by default");
        drop(storage);
        let storage = SqliteStorage::open_with(dir.path(), SyncMode::Normal).expect("open");
        assert_eq!(synchronous(&storage), 1);
        assert_eq!("normal".parse::<SyncMode>().expect("parses"), SyncMode::Normal);
        assert_eq!("full".parse::<SyncMode>().expect("parses"), SyncMode::Full);
        assert!(
            "FULL".parse::<SyncMode>().is_err(),
            "names are lower case, as on the command line"
        );
    }

    #[test]
    fn migrations_run_once_and_newer_schemas_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(dir.path()).expect("create");
        assert_eq!(
            storage.schema_version().expect("version"),
            MIGRATIONS.len() as i64
        );
        drop(storage);
        // Reopening applies nothing new and keeps the version.
        let storage = SqliteStorage::open(dir.path()).expect("reopen");
        assert_eq!(
            storage.schema_version().expect("version"),
            MIGRATIONS.len() as i64
        );
        storage.db.pragma_update(None, "user_version", 99).expect("bump");
        drop(storage);
        match SqliteStorage::open(dir.path()) {
            Err(StorageError::SchemaTooNew { found: 99, .. }) => {}
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn unread_counts_come_from_read_positions_and_the_message_index() {
        let mut storage = SqliteStorage::in_memory().expect("storage");
        storage.begin().expect("begin");
        storage
            .add_members("c", &["Tom".into(), "Jerry".into()], 0, 0)
            .expect("members");
        for (n, from) in ["Tom", "Tom", "Jerry", "Tom"].iter().enumerate() {
            storage
                .insert_message(&MessageRecord {
                    id: format!("m{n}"),
                    cid: "c".into(),
                    from: (*from).into(),
                    timestamp: 10 + n as i64,
                    data: Some("x".into()),
                    binary: None,
                    mention_all: false,
                    mention_pids: if n == 3 { vec!["Jerry".into()] } else { vec![] },
                    dt: None,
                    receipt: false,
                    patch_timestamp: None,
                    lctype: None,
                    audience: None,
                    patch_code: None,
                    patch_reason: None,
                })
                .expect("insert");
        }
        storage
            .set_position(&MemberRecord {
                cid: "c".into(),
                client_id: "Jerry".into(),
                read_ts: 10,
                ack_ts: 10,
                role: None,
            })
            .expect("position");
        storage.commit().expect("commit");
        let jerry = storage.unread_counts("Jerry", 0).expect("counts");
        assert_eq!(
            jerry,
            vec![UnreadCount {
                cid: "c".into(),
                unread: 2,
                mentioned: true
            }]
        );
        let tom = storage.unread_counts("Tom", 0).expect("counts");
        assert_eq!(tom[0].unread, 1);
        assert!(!tom[0].mentioned);
        assert!(storage.unread_counts("Tom", 13).expect("counts").is_empty());
    }
}
