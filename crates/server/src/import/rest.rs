//! Importing over the IM REST API 1.2 with the master key, as LeanCloud's migration guide says
//! history must be read: `chinwag-server import --from <API base URL> --from-app-id <id>
//! --from-master-key <key>`.
//!
//! 1. conversations: `GET /1.2/rtm/all-conversations?order=objectId&limit=1000`, each page
//!    `where` the `objectId` is past the last one's (normal, distinct, chat rooms and service
//!    conversations, with their ids, creators, custom attributes, mute lists and times), and the
//!    members of normal ones (their `m`);
//! 2. the whole app's history, oldest first: `GET /1.2/rtm/messages?reversed=true&limit=1000`,
//!    each page after the last one's `msgid` and `timestamp`. Message ids and millisecond
//!    timestamps are kept exactly, since edits, recalls and receipts name messages by them;
//! 3. the subscribers of each service conversation, with when they subscribed:
//!    `GET .../service-conversations/{id}/subscribers?client_id=…&limit=50`;
//! 4. read positions: members and subscribers have read everything imported.
//!
//! Only the conversation list is held in memory (an id and a time each), never the members or
//! the history; every page is written in its own transaction on a blocking thread. Every paging
//! loop ends on an empty page or on a page with nothing new (a source may repeat the row its
//! cursor names), and refuses a source that sends a full page again (it ignores the cursor).
//!
//! With [`Source::with_moderation`] (`--with-moderation`), each conversation's shut-up list and
//! blacklist and each normal conversation's managers come too, at up to three more requests per
//! conversation: the REST API lists them one conversation at a time.
//!
//! Not imported: temporary conversations (LeanCloud does not list them). Messages of service
//! conversations come without who they were for, so they are kept for the service only (visible
//! over REST, not in subscribers' `logs`), never shown to every subscriber. History rows name
//! their conversation in `to` (LeanCloud's `conv-id` can be a storage key): `to` is read first.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::rows::{conversation_record, manager_of, message_record};
use super::{ImportError, POSITION_CHUNK, Progress, Report};
use crate::storage::{ConversationRecord, SqliteStorage, Storage, StorageError, SyncMode};

/// Largest page of a service conversation's subscribers (LeanCloud: 50).
const SUBSCRIBER_PAGE: u32 = 50;
/// Page of shut-up lists, blacklists and member roles (chinwag answers up to 1000 at a time).
const LIST_PAGE: u32 = 1000;
/// Attempts of one request answered 429 (rate limited) or 5xx, or not answered at all.
const ATTEMPTS: u32 = 8;

/// Where to import from: an IM REST API base URL (e.g. `https://abcdefgh.api.lncldapi.com`) and
/// the app's id and master key.
#[derive(Clone, Debug)]
pub struct Source {
    /// The API base URL, without a trailing `/1.2/...`.
    pub base_url: String,
    /// The app id (`X-LC-Id`).
    pub app_id: String,
    /// The master key (`X-LC-Key: <key>,master`).
    pub master_key: String,
    /// Conversations and messages asked for per request: [`Source::LARGEST_PAGE`], LeanCloud's
    /// largest, unless a test wants many pages of little data.
    pub page_size: u32,
    /// Also read each conversation's shut-up list and blacklist, and each normal conversation's
    /// member roles: up to three more requests per conversation, as the REST API lists them one
    /// conversation at a time.
    pub with_moderation: bool,
}

impl Source {
    /// The largest page LeanCloud's REST API returns (conversations and history).
    pub const LARGEST_PAGE: u32 = 1000;
}

/// Imports everything `source` lists into the data dir `data_dir` (created if needed). No server
/// may run on it meanwhile.
pub async fn import(source: &Source, data_dir: &Path, sync: SyncMode) -> Result<Report, ImportError> {
    let mut importer = RestImport {
        client: Client::new(source)?,
        page_size: source.page_size.clamp(1, Source::LARGEST_PAGE),
        with_moderation: source.with_moderation,
        storage: Writer::open(data_dir, sync).await?,
        progress: Progress::default(),
    };
    importer.conversations().await?;
    importer.history().await?;
    importer.subscribers().await?;
    importer.read_positions().await?;
    if importer.with_moderation {
        importer.roles().await?;
    }
    Ok(importer.progress.report)
}

/// One REST import's source, destination and progress.
struct RestImport {
    client: Client,
    page_size: u32,
    with_moderation: bool,
    storage: Writer,
    progress: Progress,
}

impl RestImport {
    /// Step 1: every conversation, by id, each page after the last id of the one before: unlike
    /// `skip`, a cursor neither skips nor repeats conversations that change meanwhile (the app may
    /// still be in use), and costs the same on every page. A source that does not order by id
    /// (`order=objectId`) is read again from the start with `skip` (writing a conversation twice
    /// only replaces it). Each normal conversation's members are written with it: the listed ones
    /// added (nothing read yet: step 4 moves their positions), the ones no longer listed removed.
    async fn conversations(&mut self) -> Result<(), ImportError> {
        let mut paging = Paging::After(None);
        loop {
            let mut query = vec![("limit", self.page_size.to_string())];
            match &paging {
                Paging::After(last) => {
                    query.push(("order", "objectId".to_owned()));
                    if let Some(last) = last {
                        let past_last = serde_json::json!({"objectId": {"$gt": last}});
                        query.push(("where", past_last.to_string()));
                    }
                }
                Paging::Skip(skip) => query.push(("skip", skip.to_string())),
            }
            let path = "/1.2/rtm/all-conversations";
            let page = self.client.get(path, &query).await?;
            let results = page
                .get("results")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| self.client.unexpected(path, "no `results` list"))?;
            let ids: Vec<&str> = results
                .iter()
                .filter_map(|c| c.get("objectId")?.as_str())
                .collect();
            // Only an empty page ends the list: a source may cap pages below the size asked for.
            let last_page = results.is_empty();
            paging = match paging.after_page(&ids) {
                Some(next) => next,
                None => {
                    tracing::warn!("the source does not order conversations by id: paging with skip");
                    self.progress.report.conversations = 0;
                    self.progress.report.members = 0;
                    paging = Paging::Skip(0);
                    continue;
                }
            };
            let mut records = Vec::with_capacity(results.len());
            for (mut record, members) in results.iter().filter_map(conversation_record) {
                if self.with_moderation {
                    self.moderation_lists(&mut record).await?;
                }
                records.push((record, members));
            }
            self.progress.listed(&records);
            let with_moderation = self.with_moderation;
            self.storage
                .run(move |db| super::write_conversations(db, records, with_moderation))
                .await?;
            if last_page {
                break;
            }
        }
        tracing::info!(
            conversations = self.progress.report.conversations,
            "conversations imported"
        );
        Ok(())
    }

    /// Step 2: the app's history, oldest first, each page after the last message of the one
    /// before. Messages already in the data dir are kept, unless the source's differs (edited or
    /// recalled since an earlier run).
    async fn history(&mut self) -> Result<(), ImportError> {
        let path = "/1.2/rtm/messages";
        let mut after: Option<(String, i64)> = None;
        let mut previous_page: HashSet<String> = HashSet::new();
        loop {
            let mut query = vec![
                ("reversed", "true".to_owned()),
                ("limit", self.page_size.to_string()),
            ];
            if let Some((id, ts)) = &after {
                query.push(("msgid", id.clone()));
                query.push(("timestamp", ts.to_string()));
            }
            let page = self.client.get(path, &query).await?;
            let items = page
                .as_array()
                .cloned()
                .ok_or_else(|| self.client.unexpected(path, "not a list of messages"))?;
            let fresh = fresh_rows(&items, &previous_page, |item| item.get("msg-id")?.as_str());
            if fresh.is_empty() {
                if items.len() >= self.page_size as usize {
                    return Err(self
                        .client
                        .unexpected(path, "a full page again: the source ignores msgid"));
                }
                break;
            }
            previous_page = fresh
                .iter()
                .filter_map(|item| item.get("msg-id")?.as_str())
                .map(str::to_owned)
                .collect();
            // The cursor: the last row that has both an id and a time.
            after = fresh.iter().rev().find_map(|item| {
                let id = item.get("msg-id")?.as_str()?.to_owned();
                Some((id, item.get("timestamp")?.as_i64()?))
            });
            let mut messages = Vec::with_capacity(fresh.len());
            for item in &fresh {
                let read = message_record(item, |cid| self.progress.imported(cid));
                messages.extend(self.progress.message(read));
            }
            let count = messages.len();
            let written = self
                .storage
                .run(move |db| super::write_messages(db, &messages))
                .await?;
            self.progress.messages_written(written, count);
            if after.is_none() {
                break;
            }
        }
        self.progress.log_history();
        Ok(())
    }

    /// Step 3: the subscribers of each service conversation, with when they subscribed; stored
    /// subscribers the source no longer lists are removed.
    async fn subscribers(&mut self) -> Result<(), ImportError> {
        for cid in self.progress.services() {
            let path = format!("/1.2/rtm/service-conversations/{cid}/subscribers");
            let mut after: Option<String> = None;
            let mut listed: HashSet<String> = HashSet::new();
            let mut previous_page: HashSet<String> = HashSet::new();
            loop {
                let mut query = vec![("limit", SUBSCRIBER_PAGE.to_string())];
                if let Some(after) = &after {
                    query.push(("client_id", after.clone()));
                }
                let page = self.client.get(&path, &query).await?;
                let items = page
                    .as_array()
                    .cloned()
                    .ok_or_else(|| self.client.unexpected(&path, "not a list of subscribers"))?;
                // A source whose cursor includes the client it names sends it again: not new.
                let fresh = fresh_rows(&items, &previous_page, |item| item.get("subscriber")?.as_str());
                let subscribers: Vec<(String, i64)> = fresh
                    .iter()
                    .filter_map(|item| {
                        let id = item.get("subscriber")?.as_str()?.to_owned();
                        Some((id, item.get("timestamp").and_then(Value::as_i64).unwrap_or(0)))
                    })
                    .collect();
                if subscribers.is_empty() {
                    break;
                }
                previous_page = subscribers.iter().map(|(id, _)| id.clone()).collect();
                listed.extend(previous_page.iter().cloned());
                after = subscribers.last().map(|(id, _)| id.clone());
                self.progress.report.members += subscribers.len();
                let service = cid.clone();
                self.storage
                    .run(move |db| {
                        for (client_id, at) in &subscribers {
                            db.add_members(&service, std::slice::from_ref(client_id), 0, *at)?;
                        }
                        Ok(())
                    })
                    .await?;
            }
            self.storage
                .run(move |db| super::remove_unlisted(db, &cid, |id| listed.contains(id)))
                .await?;
        }
        Ok(())
    }

    /// Step 4: everyone has read everything imported (read positions cannot be exported), in
    /// transactions of a few thousand conversations.
    async fn read_positions(&mut self) -> Result<(), ImportError> {
        for chunk in self.progress.read_positions().chunks(POSITION_CHUNK) {
            let chunk = chunk.to_vec();
            self.storage
                .run(move |db| super::raise_read_positions(db, &chunk))
                .await?;
        }
        Ok(())
    }

    /// With [`Source::with_moderation`], before `record` is written: its shut-up list (normal
    /// conversations and chat rooms) and its blacklist, every page of each. A conversation deleted
    /// at the source meanwhile (a 4xx) has none.
    async fn moderation_lists(&self, record: &mut ConversationRecord) -> Result<(), ImportError> {
        let kind = if record.system {
            "service-conversations"
        } else if record.transient {
            "chatrooms"
        } else {
            "conversations"
        };
        if !record.system {
            let path = format!("/1.2/rtm/{kind}/{}/permanent-silenceds", record.id);
            record.shutup = self.client_list(&path).await?;
        }
        let path = format!("/1.2/rtm/{kind}/{}/blacklists", record.id);
        record.blocked = self.client_list(&path).await?;
        Ok(())
    }

    /// Every `client_ids` of a list the REST API pages with `limit` and `next` (none when the
    /// source refuses it with a 4xx).
    async fn client_list(&self, path: &str) -> Result<Vec<String>, ImportError> {
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut query = vec![("limit", LIST_PAGE.to_string())];
            if let Some(next) = &next {
                query.push(("next", next.clone()));
            }
            let page = match self.client.get(path, &query).await {
                Err(error) if error.is_refusal() => {
                    tracing::warn!(%path, %error, "not served: taken as empty");
                    return Ok(ids);
                }
                answer => answer?,
            };
            let listed = page.get("client_ids").and_then(Value::as_array);
            ids.extend(
                listed
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned),
            );
            let following = page.get("next").and_then(Value::as_str).map(str::to_owned);
            // No `next`, the same `next` again, or an empty page ends the list.
            if following.is_none() || following == next || listed.is_none_or(Vec::is_empty) {
                return Ok(ids);
            }
            next = following;
        }
    }

    /// Step 5, with [`Source::with_moderation`]: the managers of each normal conversation (its
    /// owner is its creator; everybody else is a plain member). An app whose source does not serve
    /// member roles (a 4xx: LeanCloud serves them only where the app switched them on) is asked
    /// once.
    async fn roles(&mut self) -> Result<(), ImportError> {
        for cid in self.progress.with_members() {
            let path = format!("/1.2/rtm/conversations/{cid}/member-infos");
            let mut managers = Vec::new();
            let mut previous_page: Vec<Value> = Vec::new();
            for skip in (0..).step_by(LIST_PAGE as usize) {
                let query = [("limit", LIST_PAGE.to_string()), ("skip", skip.to_string())];
                let page = match self.client.get(&path, &query).await {
                    Err(error) if error.is_refusal() => {
                        tracing::warn!(%error, "member roles not served: none imported");
                        return Ok(());
                    }
                    answer => answer?,
                };
                let results = page
                    .get("results")
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| self.client.unexpected(&path, "no `results` list"))?;
                // Empty, or the same page again (a source ignoring `skip`): the end.
                if results.is_empty() || results == previous_page {
                    break;
                }
                managers.extend(results.iter().filter_map(manager_of).map(str::to_owned));
                previous_page = results;
            }
            self.progress.report.managers += managers.len();
            self.storage
                .run(move |db| super::write_managers(db, &cid, &managers))
                .await?;
        }
        Ok(())
    }
}

/// The rows of `page` not on the page before (`previous`, by `key`): a source whose cursor
/// includes the row it names sends that row again.
fn fresh_rows<'a>(
    page: &'a [Value],
    previous: &HashSet<String>,
    key: impl Fn(&'a Value) -> Option<&'a str>,
) -> Vec<&'a Value> {
    page.iter()
        .filter(|row| key(row).is_none_or(|id| !previous.contains(id)))
        .collect()
}

/// How conversations are paged: after the last id (`order=objectId`), or by offset for a source
/// that does not order by id.
#[derive(Debug)]
enum Paging {
    /// `where objectId > ` the last id of the page before (`None`: the first page).
    After(Option<String>),
    /// `skip` this many.
    Skip(usize),
}

impl Paging {
    /// The paging of the request after a page that listed `ids`, in the order given; `None` when
    /// an id-ordered page came back out of order (the source ignores `order`).
    fn after_page(self, ids: &[&str]) -> Option<Self> {
        match self {
            Self::After(previous) => {
                let ordered = ids.windows(2).all(|pair| pair[0] < pair[1]);
                // A source that orders but ignores `where` would send the same page forever.
                let past_cursor = match (&previous, ids.first()) {
                    (Some(previous), Some(first)) => *first > previous.as_str(),
                    _ => true,
                };
                (ordered && past_cursor)
                    .then(|| Self::After(ids.last().map(|id| (*id).to_owned()).or(previous)))
            }
            Self::Skip(skip) => Some(Self::Skip(skip + ids.len())),
        }
    }
}

/// The REST client: JSON `GET`s with the master key, retried when rate limited.
struct Client {
    http: reqwest::Client,
    base_url: String,
    app_id: String,
    key: String,
}

impl Client {
    fn new(source: &Source) -> Result<Self, ImportError> {
        let failed = |reason: String| ImportError::Source {
            url: source.base_url.clone(),
            status: None,
            reason,
        };
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config().map_err(|e| failed(e.to_string()))?)
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("chinwag-server/", env!("CARGO_PKG_VERSION"), " import"))
            .build()
            .map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            http,
            base_url: source.base_url.trim_end_matches('/').to_owned(),
            app_id: source.app_id.clone(),
            key: format!("{},master", source.master_key),
        })
    }

    /// An answer to `GET {base}{path}` that is not what the REST API documents.
    fn unexpected(&self, path: &str, what: &str) -> ImportError {
        ImportError::Source {
            url: format!("{}{path}", self.base_url),
            status: None,
            reason: format!("unexpected answer: {what}"),
        }
    }

    /// `GET {base}{path}?{query}` as JSON. A 429, a 5xx or a failed connection is tried again
    /// after a growing pause (up to [`ATTEMPTS`] times): a long import should not end on one
    /// passing error. Other errors end it.
    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ImportError> {
        let url = format!("{}{path}", self.base_url);
        let failed = |status: Option<u16>, reason: String| ImportError::Source {
            url: url.clone(),
            status,
            reason,
        };
        let mut pause = Duration::from_millis(500);
        for attempt in 1..=ATTEMPTS {
            let sent = self
                .http
                .get(&url)
                .query(query)
                .header("X-LC-Id", &self.app_id)
                .header("X-LC-Key", &self.key)
                .send()
                .await;
            let (status, retry) = match sent {
                Ok(answer) if answer.status().is_success() => {
                    let status = Some(answer.status().as_u16());
                    return answer.json().await.map_err(|e| failed(status, e.to_string()));
                }
                Ok(answer) => {
                    let status = answer.status();
                    let body = answer.text().await.unwrap_or_default();
                    let reason = format!("{status}: {body}");
                    if status != reqwest::StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                        return Err(failed(Some(status.as_u16()), reason));
                    }
                    (Some(status.as_u16()), reason)
                }
                Err(error) if error.is_connect() || error.is_timeout() => (None, error.to_string()),
                Err(error) => return Err(failed(None, error.to_string())),
            };
            if attempt == ATTEMPTS {
                return Err(failed(status, retry));
            }
            tracing::warn!(%url, attempt, %retry, "trying again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(30));
        }
        unreachable!("the last attempt returns")
    }
}

/// rustls with the ring provider and the webpki roots (the server's only TLS use).
pub(crate) fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// The data dir's storage, written on a blocking thread so that no async task waits on the disk.
struct Writer {
    storage: Option<SqliteStorage>,
}

impl Writer {
    async fn open(data_dir: &Path, sync: SyncMode) -> Result<Self, ImportError> {
        let dir = data_dir.to_owned();
        let storage = tokio::task::spawn_blocking(move || SqliteStorage::open_with(&dir, sync))
            .await
            .map_err(|e| StorageError::Io(std::io::Error::other(e)))??;
        Ok(Self {
            storage: Some(storage),
        })
    }

    /// Runs `write` in one transaction on a blocking thread.
    async fn run<T: Send + 'static>(
        &mut self,
        write: impl FnOnce(&mut SqliteStorage) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, ImportError> {
        let mut storage = self.storage.take().ok_or_else(|| {
            ImportError::Storage(StorageError::Io(std::io::Error::other("an earlier write failed")))
        })?;
        let (storage, result) = tokio::task::spawn_blocking(move || {
            let result = super::in_transaction(&mut storage, write);
            (storage, result)
        })
        .await
        .map_err(|e| StorageError::Io(std::io::Error::other(e)))?;
        self.storage = Some(storage);
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conversations_are_paged_after_the_last_id_unless_the_source_ignores_the_order() {
        let next = Paging::After(None).after_page(&["a", "b", "c"]);
        assert!(matches!(next, Some(Paging::After(Some(last))) if last == "c"));
        assert!(
            Paging::After(None).after_page(&["b", "a"]).is_none(),
            "out of order"
        );
        assert!(Paging::After(None).after_page(&["a", "a"]).is_none(), "repeated");
        assert!(matches!(
            Paging::Skip(4).after_page(&["z", "a"]),
            Some(Paging::Skip(6))
        ));
        let from_b = || Paging::After(Some("b".to_owned()));
        assert!(
            from_b().after_page(&["a", "c"]).is_none(),
            "not past the cursor: `where` ignored"
        );
        assert!(matches!(from_b().after_page(&[]), Some(Paging::After(Some(last))) if last == "b"));
    }

    #[test]
    fn rows_sent_again_at_a_page_boundary_are_not_new() {
        let page = [
            json!({"msg-id": "m2"}),
            json!({"msg-id": "m3"}),
            json!({"no": "id"}),
        ];
        let previous = HashSet::from(["m1".to_owned(), "m2".to_owned()]);
        let fresh = fresh_rows(&page, &previous, |row| row.get("msg-id")?.as_str());
        assert_eq!(fresh, [&page[1], &page[2]]);
        assert!(fresh_rows(&page[..1], &previous, |row| row.get("msg-id")?.as_str()).is_empty());
    }
}
