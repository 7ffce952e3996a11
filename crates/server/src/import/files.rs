//! Importing export files, all that is left of an app once LeanCloud has ended:
//! `chinwag-server import --from-files <PATH>...`.
//!
//! What LeanCloud gives (`shared/protocol/REST.md` §1.2): its data export (console, or `POST
//! /1.1/exportData`) is a `.tar.gz` of JSON Lines files, one or more per class
//! (`_Conversation.0.jsonl`), each perhaps opening with a line `#filetype:JSON-streaming
//! {"type":"Class","class":"_Conversation"}`. Message history is not in it: teams read it over the
//! IM REST API (`GET /1.2/rtm/messages`, what `import --from` reads) and keep the answers as files.
//!
//! A PATH is a tar archive, a folder (read recursively, in name order, links to folders not
//! followed) or one file. Archives and files may be gzipped, in one or several gzip members
//! (`gzip >>` once per saved page); both are told by their first bytes, not their names. Files named
//! `*.json` or `*.jsonl` (maybe `.gz`) are read; others, and hidden ones (the `._x` a macOS archive
//! adds), are skipped. A file holds JSON values one after another, each a row, a list of rows (a
//! REST page) or a page `{"results": [rows], …}`: JSON Lines, concatenated pages and single
//! documents alike. Leading blank lines and lines starting with `#` (or `filetype:`) are skipped,
//! and one naming a class names the file's class; otherwise the class is the file name up to its
//! first dot. By class:
//!
//! - `_Conversation`: conversations, normal ones with their members (`m`). They are read first,
//!   as a message is kept only when its conversation is imported (in this run, or by an earlier
//!   one: history files can come alone, later);
//! - `_ConversationMemberInfo`: managers. When such a file is given, the managers of every
//!   imported normal conversation are exactly the ones it lists;
//! - `_SysMessage`: messages clients sent to service conversations, kept for the service only;
//! - any other file whose first row has a `msg-id`: history, rows as the REST API lists them;
//! - anything else (the other classes of a whole app's export, `_User` and so on) is skipped, and
//!   so is a file of another class that is not JSON at all (with a warning).
//!
//! Not in any export, so not imported from files: service conversations' subscribers, shut-up
//! lists and blacklists (what an earlier import brought of them stays). Rows are streamed and
//! written in batches of 1,000 (`BATCH`), each its own transaction; as in the REST import, only
//! the conversation list (and the managers a `_ConversationMemberInfo` file names) is held in
//! memory. A file that is one big JSON list is read whole first. An archive is read twice
//! (conversations and roles, then history), never unpacked.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde_json::Value;

use super::rows::{
    conversation_record, manager_of, member_info_conversation, message_record, service_message_record,
};
use super::{ImportError, POSITION_CHUNK, Progress, Report, in_transaction};
use crate::storage::{ConversationRecord, MessageRecord, SqliteStorage, StorageError, SyncMode};

/// Rows written per transaction.
const BATCH: usize = 1000;

/// Imports the export files at `paths` (archives, folders or files) into the data dir `data_dir`
/// (created if needed). No server may run on it meanwhile. Blocking: reads files and writes the
/// database on the calling thread.
pub fn import_files(paths: &[PathBuf], data_dir: &Path, sync: SyncMode) -> Result<Report, ImportError> {
    let mut import = FileImport {
        db: SqliteStorage::open_with(data_dir, sync)?,
        progress: Progress::default(),
        managers: None,
        not_stored: HashSet::new(),
    };
    for path in paths {
        each_file(path, &mut |file| import.conversations_and_roles(file))?;
    }
    tracing::info!(
        conversations = import.progress.report.conversations,
        "conversations imported"
    );
    for path in paths {
        each_file(path, &mut |file| import.history(file))?;
    }
    import.progress.log_history();
    import.apply_member_infos()?;
    for chunk in import.progress.read_positions().chunks(POSITION_CHUNK) {
        in_transaction(&mut import.db, |db| super::raise_read_positions(db, chunk))?;
    }
    if import.progress.report.files == 0 {
        tracing::warn!("no file held IM data: nothing imported");
    }
    Ok(import.progress.report)
}

/// One file import's destination and progress.
struct FileImport {
    db: SqliteStorage,
    progress: Progress,
    /// The managers of each conversation, by id, once a `_ConversationMemberInfo` file was read.
    managers: Option<BTreeMap<String, BTreeSet<String>>>,
    /// Conversation ids that history rows name and that are neither read nor stored.
    not_stored: HashSet<String>,
}

impl FileImport {
    /// First pass: `_Conversation` files, written in batches; `_ConversationMemberInfo` files,
    /// whose managers are kept until every conversation is known.
    fn conversations_and_roles(&mut self, file: ExportFile<'_>) -> Result<(), ImportError> {
        match file.class.as_str() {
            "_Conversation" => {
                self.progress.report.files += 1;
                let mut batch = Batch::default();
                each_row(file, |row| {
                    if let Some(full) = conversation_record(&row).and_then(|record| batch.push(record)) {
                        self.write_conversations(full)?;
                    }
                    Ok(ControlFlow::Continue(()))
                })?;
                batch.rest().map_or(Ok(()), |rest| self.write_conversations(rest))
            }
            "_ConversationMemberInfo" => {
                self.progress.report.files += 1;
                let managers = self.managers.get_or_insert_default();
                each_row(file, |row| {
                    if let (Some(cid), Some(client_id)) = (member_info_conversation(&row), manager_of(&row)) {
                        managers
                            .entry(cid.to_owned())
                            .or_default()
                            .insert(client_id.to_owned());
                    }
                    Ok(ControlFlow::Continue(()))
                })
            }
            _ => Ok(()),
        }
    }

    fn write_conversations(
        &mut self,
        batch: Vec<(ConversationRecord, Vec<String>)>,
    ) -> Result<(), ImportError> {
        self.progress.listed(&batch);
        // No export holds shut-up lists or blacklists: what an earlier import brought stays.
        Ok(in_transaction(&mut self.db, |db| {
            super::write_conversations(db, batch, false)
        })?)
    }

    /// Second pass: `_SysMessage` files and history files (whose first row has a `msg-id`); other
    /// files are skipped, with a warning when they are not JSON at all.
    fn history(&mut self, file: ExportFile<'_>) -> Result<(), ImportError> {
        let service_messages = match file.class.as_str() {
            "_SysMessage" => true,
            "_Conversation" | "_ConversationMemberInfo" => return Ok(()),
            _ => false,
        };
        if service_messages {
            self.progress.report.files += 1;
        }
        let shown = file.shown.clone();
        let mut batch = Batch::default();
        let mut first = true;
        let read = each_row(file, |row| {
            if std::mem::take(&mut first) && !service_messages {
                if row.get("msg-id").is_none() {
                    tracing::info!(file = %shown, "neither IM history nor a class an import reads: skipped");
                    return Ok(ControlFlow::Break(()));
                }
                self.progress.report.files += 1;
            }
            for cid in named_conversations(&row) {
                self.recall(cid)?;
            }
            let imported = |cid: &str| self.progress.imported(cid);
            let read = if service_messages {
                service_message_record(&row, imported)
            } else {
                message_record(&row, imported)
            };
            if let Some(full) = self
                .progress
                .message(read)
                .and_then(|message| batch.push(message))
            {
                self.write_messages(full)?;
            }
            Ok(ControlFlow::Continue(()))
        });
        match read {
            // Some other file (`._x.json` of a macOS archive, say) that is not JSON at all.
            Err(ImportError::File { reason, .. }) if first && !service_messages => {
                tracing::warn!(file = %shown, %reason, "not IM data: skipped");
            }
            read => read?,
        }
        batch.rest().map_or(Ok(()), |rest| self.write_messages(rest))
    }

    /// Makes conversation `cid`, named by a history row, known to this import if it was not read
    /// but is in the data dir (an earlier import brought it): its messages are kept too.
    fn recall(&mut self, cid: &str) -> Result<(), StorageError> {
        if self.progress.knows(cid) || self.not_stored.contains(cid) {
            return Ok(());
        }
        match self.db.conversation_kind(cid)? {
            Some((transient, system)) => self.progress.stored(cid, system, !transient && !system),
            None => {
                self.not_stored.insert(cid.to_owned());
            }
        }
        Ok(())
    }

    fn write_messages(&mut self, batch: Vec<MessageRecord>) -> Result<(), ImportError> {
        let written = in_transaction(&mut self.db, |db| super::write_messages(db, &batch))?;
        self.progress.messages_written(written, batch.len());
        Ok(())
    }

    /// With a `_ConversationMemberInfo` file read: each normal conversation read is given the
    /// managers it lists (none for a conversation it does not name). Without one, the roles an
    /// earlier import brought stay.
    fn apply_member_infos(&mut self) -> Result<(), ImportError> {
        let Some(managers) = self.managers.take() else {
            return Ok(());
        };
        for chunk in self.progress.with_members().chunks(POSITION_CHUNK) {
            let written = in_transaction(&mut self.db, |db| {
                let mut written = 0;
                for cid in chunk {
                    let listed: Vec<String> = managers.get(cid).into_iter().flatten().cloned().collect();
                    super::write_managers(db, cid, &listed)?;
                    written += listed.len();
                }
                Ok(written)
            })?;
            self.progress.report.managers += written;
        }
        Ok(())
    }
}

/// Rows gathered for one transaction.
struct Batch<T> {
    rows: Vec<T>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Self { rows: Vec::new() }
    }
}

impl<T> Batch<T> {
    /// Adds `row`; returns the batch to write once it holds [`BATCH`] rows.
    fn push(&mut self, row: T) -> Option<Vec<T>> {
        self.rows.push(row);
        (self.rows.len() >= BATCH).then(|| std::mem::take(&mut self.rows))
    }

    /// The rows not written yet, if any.
    fn rest(self) -> Option<Vec<T>> {
        (!self.rows.is_empty()).then_some(self.rows)
    }
}

/// The conversation ids a history or `_SysMessage` row may name (`to`, `conv-id`, `conv`).
fn named_conversations(row: &Value) -> impl Iterator<Item = &str> {
    let pointer = row.get("conv").map(|conv| conv.get("objectId").unwrap_or(conv));
    [row.get("to"), row.get("conv-id"), pointer]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// One export file being read.
struct ExportFile<'a> {
    /// Where it is, for messages (inside an archive: `archive.tar.gz/inner/path`).
    shown: String,
    /// Its class: what its header names, else its file name up to the first dot.
    class: String,
    /// Its content past the header lines.
    content: Box<dyn BufRead + 'a>,
}

/// What [`each_file`] calls with each export file.
type Visit<'v> = dyn FnMut(ExportFile<'_>) -> Result<(), ImportError> + 'v;

/// Calls `visit` with each export file at `path`: an archive's files, a folder's (recursively, in
/// name order, not following links to folders) or the file itself.
fn each_file(path: &Path, visit: &mut Visit<'_>) -> Result<(), ImportError> {
    let shown = path.display().to_string();
    let failed = |error: std::io::Error| file_error(&shown, error);
    if path.is_dir() {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(path).map_err(failed)? {
            let entry = entry.map_err(failed)?;
            let linked_folder = entry.file_type().map_err(failed)?.is_symlink() && entry.path().is_dir();
            if linked_folder {
                tracing::warn!(link = %entry.path().display(), "a link to a folder: not followed");
            } else {
                entries.push(entry.path());
            }
        }
        entries.sort();
        return entries.iter().try_for_each(|entry| each_file(entry, visit));
    }
    let file = File::open(path).map_err(failed)?;
    visit_content(shown.clone(), Box::new(file), visit)
}

/// Calls `visit` with the files of `content` (shown as `shown`), told apart by their first bytes,
/// not their names: a tar archive's files (gzipped or not), or a JSON file (gzipped or not).
/// Hidden files (`.x`, and the `._x` a macOS archive adds for each file) are skipped.
fn visit_content<'a>(
    shown: String,
    content: Box<dyn Read + 'a>,
    visit: &mut Visit<'_>,
) -> Result<(), ImportError> {
    if file_name(&shown).starts_with('.') {
        tracing::debug!(file = %shown, "hidden: skipped");
        return Ok(());
    }
    let failed = |error: std::io::Error| file_error(&shown, error);
    let (start, content) = peek(content, GZIP_MAGIC.len()).map_err(failed)?;
    let gzipped = start == GZIP_MAGIC;
    let content: Box<dyn Read + 'a> = if gzipped {
        Box::new(MultiGzDecoder::new(content))
    } else {
        content
    };
    let (start, content) = peek(content, TAR_MAGIC_END).map_err(failed)?;
    if start.get(TAR_MAGIC_END - TAR_MAGIC.len()..) == Some(TAR_MAGIC) {
        return each_archived_file(content, &shown, visit);
    }
    visit_json_file(shown, content, visit)
}

/// The first bytes of a gzip stream (RFC 1952).
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// `ustar` at offset 257 of a tar archive's first header (POSIX and GNU tar alike).
const TAR_MAGIC: &[u8] = b"ustar";
const TAR_MAGIC_END: usize = 257 + 5;

/// Reads up to `len` bytes from the start of `content`: returns them, and `content` whole again.
fn peek<'a>(mut content: Box<dyn Read + 'a>, len: usize) -> std::io::Result<(Vec<u8>, Box<dyn Read + 'a>)> {
    let mut start = Vec::with_capacity(len);
    content.by_ref().take(len as u64).read_to_end(&mut start)?;
    Ok((start.clone(), Box::new(Cursor::new(start).chain(content))))
}

/// Calls `visit` with each file of the tar archive `archive` (at `shown`).
fn each_archived_file(archive: impl Read, shown: &str, visit: &mut Visit<'_>) -> Result<(), ImportError> {
    let failed = |error: std::io::Error| file_error(shown, error);
    let mut archive = tar::Archive::new(archive);
    for entry in archive.entries().map_err(failed)? {
        let entry = entry.map_err(failed)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let inner = entry.path().map_err(failed)?.display().to_string();
        visit_content(format!("{shown}/{inner}"), Box::new(entry), visit)?;
    }
    Ok(())
}

/// Calls `visit` with the file `shown` holding `content` (already ungzipped), if its name says
/// JSON (`.json`, `.jsonl`, either maybe with `.gz`): past its header lines, with its class.
fn visit_json_file<'a>(
    shown: String,
    content: Box<dyn Read + 'a>,
    visit: &mut Visit<'_>,
) -> Result<(), ImportError> {
    let name = file_name(&shown).to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if !name.ends_with(".jsonl") && !name.ends_with(".json") {
        tracing::debug!(file = %shown, "not a JSON file: skipped");
        return Ok(());
    }
    let mut content: Box<dyn BufRead + 'a> = Box::new(BufReader::new(content));
    let named = skip_header(&mut content).map_err(|error| file_error(&shown, error))?;
    let class = named.unwrap_or_else(|| {
        let name = file_name(&shown);
        name.split('.').next().unwrap_or(name).to_owned()
    });
    visit(ExportFile {
        shown,
        class,
        content,
    })
}

/// Skips what starts `content` before its JSON: a byte order mark, blank lines, and lines that
/// are not JSON (LeanCloud's `#filetype:JSON-streaming {"type":"Class","class":"…"}`, other `#`
/// lines); returns the class a header names.
fn skip_header(content: &mut dyn BufRead) -> std::io::Result<Option<String>> {
    const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";
    let mut class = None;
    loop {
        let start = content.fill_buf()?;
        if start.starts_with(BYTE_ORDER_MARK) {
            content.consume(BYTE_ORDER_MARK.len());
            continue;
        }
        match start.first() {
            Some(byte) if byte.is_ascii_whitespace() => {
                content.consume(1);
                continue;
            }
            // A row starts with `{` and a page with `[`: a line starting with `#` is a header, and
            // so is one starting with `f` (`filetype:`, as some copies of the header are written).
            Some(b'#' | b'f') => {}
            _ => return Ok(class),
        }
        let mut line = Vec::new();
        content.read_until(b'\n', &mut line)?;
        let line = String::from_utf8_lossy(&line);
        let named = line
            .find('{')
            .and_then(|at| serde_json::from_str::<Value>(&line[at..]).ok())
            .and_then(|header| Some(header.get("class")?.as_str()?.to_owned()));
        class = class.or(named);
    }
}

/// Calls `on_row` with each row of `file`: its JSON values one after another, a list's items and
/// the items of a page (`{"results": […]}` that is not itself a row) each a row; until `on_row`
/// breaks. A value that is not JSON is an error naming the file and the place.
fn each_row(
    file: ExportFile<'_>,
    mut on_row: impl FnMut(Value) -> Result<ControlFlow<()>, ImportError>,
) -> Result<(), ImportError> {
    let values = serde_json::Deserializer::from_reader(file.content).into_iter::<Value>();
    for value in values {
        let value = value.map_err(|error| ImportError::File {
            path: file.shown.clone(),
            reason: format!("not JSON: {error}"),
        })?;
        let rows = match value {
            Value::Array(rows) => rows,
            Value::Object(mut page) if is_page(&page) => match page.remove("results") {
                Some(Value::Array(rows)) => rows,
                _ => unreachable!("a page has a list of results"),
            },
            single => vec![single],
        };
        for row in rows {
            if on_row(row)?.is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Whether `object` is a page of rows (`{"results": [...], "cursor"?, "count"?}`), not a row that
/// has a custom `results` column.
fn is_page(object: &serde_json::Map<String, Value>) -> bool {
    object.get("results").is_some_and(Value::is_array)
        && object
            .keys()
            .all(|key| matches!(key.as_str(), "results" | "cursor" | "count" | "next"))
}

/// The last part of `path` (`/` separated, as in archives).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', std::path::MAIN_SEPARATOR])
        .next()
        .unwrap_or(path)
}

fn file_error(shown: &str, error: std::io::Error) -> ImportError {
    ImportError::File {
        path: shown.to_owned(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The class and rows `open` + `each_row` read from a file named `name` holding `content`.
    fn read(name: &str, content: &[u8]) -> (String, Vec<Value>) {
        let mut found = None;
        visit_content(name.to_owned(), Box::new(content), &mut |file| {
            let class = file.class.clone();
            let mut rows = Vec::new();
            each_row(file, |row| {
                rows.push(row);
                Ok(ControlFlow::Continue(()))
            })?;
            found = Some((class, rows));
            Ok(())
        })
        .expect("readable");
        found.expect("a JSON file")
    }

    #[test]
    fn json_lines_with_leancloud_s_header_name_their_class() {
        let content = b"#filetype:JSON-streaming {\"type\":\"Class\",\"class\":\"_Conversation\"}\n{\"objectId\":\"a\"}\n{\"objectId\":\"b\"}\n";
        let (class, rows) = read("export/conversations.0.jsonl", content);
        assert_eq!(class, "_Conversation", "the header's class, not the file name");
        assert_eq!(
            rows,
            [
                serde_json::json!({"objectId": "a"}),
                serde_json::json!({"objectId": "b"})
            ]
        );
        // The header as one blog quotes it, without the `#`.
        let content =
            b"filetype:JSON-streaming {\"type\":\"Class\",\"class\":\"_SysMessage\"}\n{\"msgId\":\"m\"}";
        assert_eq!(read("x.jsonl", content).0, "_SysMessage");
        // Saved by an editor: a byte order mark, a blank line, a comment.
        let content = b"\xEF\xBB\xBF\n# saved by hand\r\n{\"objectId\":\"a\"}";
        let expected = (
            "_Conversation".to_owned(),
            vec![serde_json::json!({"objectId": "a"})],
        );
        assert_eq!(read("_Conversation.json", content), expected);
    }

    #[test]
    fn lists_pages_and_results_are_rows_each() {
        let content = b"[{\"msg-id\":\"1\"},{\"msg-id\":\"2\"}]\n[{\"msg-id\":\"3\"}]{\"results\":[{\"msg-id\":\"4\"}]}";
        let (class, rows) = read("history/page-0001.json", content);
        assert_eq!(class, "page-0001", "no header: the file name up to its first dot");
        let ids: Vec<&str> = rows.iter().filter_map(|row| row["msg-id"].as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4"]);
    }

    #[test]
    fn gzipped_files_are_read_and_other_files_skipped() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"objectId\":\"a\"}\n").expect("gzip");
        let gzipped = gz.finish().expect("gzip");
        let (class, rows) = read("_Conversation.0.jsonl.gz", &gzipped);
        assert_eq!((class.as_str(), rows.len()), ("_Conversation", 1));
        let mut visited = false;
        visit_content(
            "schema/_Conversation.txt".to_owned(),
            Box::new(&b"{}"[..]),
            &mut |_| {
                visited = true;
                Ok(())
            },
        )
        .expect("skipped");
        assert!(!visited, "not a JSON file");
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let content = &b"{\"msg-id\":\"1\"}\n{\"msg-id\": tru"[..];
        let error = visit_content("h.jsonl".to_owned(), Box::new(content), &mut |file| {
            each_row(file, |_| Ok(ControlFlow::Continue(())))
        })
        .expect_err("not JSON");
        let shown = error.to_string();
        assert!(shown.starts_with("h.jsonl: not JSON"), "{shown}");
    }

    #[test]
    fn a_row_with_a_results_column_is_one_row_and_a_page_is_its_results() {
        let content = br#"{"objectId":"a","results":[1,2]}{"results":[{"objectId":"b"}],"cursor":"x"}"#;
        let (_, rows) = read("_Conversation.json", content);
        let ids: Vec<&str> = rows.iter().filter_map(|row| row["objectId"].as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    fn gzip(content: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(content).expect("gzip");
        gz.finish().expect("gzip")
    }

    #[test]
    fn gzip_files_of_several_members_are_read_whole() {
        // `gzip >> file` once per saved page.
        let mut content = gzip(b"{\"msg-id\":\"1\"}\n");
        content.extend(gzip(b"{\"msg-id\":\"2\"}\n"));
        let (_, rows) = read("history.jsonl.gz", &content);
        assert_eq!(rows.len(), 2);
    }

    /// The files `visit_content` finds in `content` named `name`: (shown, class) each.
    fn files_in(name: &str, content: &[u8]) -> Vec<(String, String)> {
        let mut found = Vec::new();
        visit_content(name.to_owned(), Box::new(content), &mut |file| {
            found.push((file.shown, file.class));
            Ok(())
        })
        .expect("readable");
        found
    }

    #[test]
    fn archives_are_told_by_their_content_not_their_name() {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, content) in [
            ("x/_Conversation.0.jsonl", &b"{}"[..]),
            ("x/._Conversation.0.jsonl", &b"\x00\x05\x16\x07"[..]),
            ("x/notes.txt", &b"hi"[..]),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_cksum();
            tar.append_data(&mut header, path, content).expect("archived");
        }
        let tar = tar.into_inner().expect("tar");
        let found = vec![(
            "E.TAR.GZ/x/_Conversation.0.jsonl".to_owned(),
            "_Conversation".to_owned(),
        )];
        assert_eq!(files_in("E.TAR.GZ", &gzip(&tar)), found, "upper case");
        let found = vec![(
            "e.tar.gz/x/_Conversation.0.jsonl".to_owned(),
            "_Conversation".to_owned(),
        )];
        assert_eq!(
            files_in("e.tar.gz", &tar),
            found,
            "already ungzipped by a browser"
        );
        assert!(files_in("._e.jsonl", b"{}").is_empty(), "hidden");
    }

    #[test]
    fn batches_past_a_thousand_rows_and_a_rerun_of_history_alone_are_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = tempfile::tempdir().expect("tempdir");
        let conversations: String = (0..=BATCH)
            .map(|n| format!("{{\"objectId\":\"c{n:04}\",\"c\":\"Tom\",\"m\":[\"Tom\"]}}\n"))
            .collect();
        let history = |range: std::ops::Range<usize>| -> String {
            range
                .map(|n| {
                    format!(
                        "{{\"msg-id\":\"m{n}\",\"to\":\"c{:04}\",\"timestamp\":{n},\"data\":\"hi\"}}\n",
                        n % 7
                    )
                })
                .collect()
        };
        let export = files.path().join("_Conversation.0.jsonl");
        std::fs::write(&export, conversations).expect("written");
        let first = files.path().join("history-1.jsonl");
        std::fs::write(&first, history(1..BATCH + 2)).expect("written");
        let report = import_files(&[export, first.clone()], dir.path(), SyncMode::Normal).expect("imported");
        assert_eq!(
            (report.conversations, report.members, report.messages),
            (BATCH + 1, BATCH + 1, BATCH + 1)
        );
        // Later, more history alone: its conversations are in the data dir.
        let second = files.path().join("history-2.jsonl");
        std::fs::write(&second, history(BATCH + 2..BATCH + 12)).expect("written");
        let notes = files.path().join("notes.json");
        std::fs::write(&notes, "<html>not JSON, not IM data</html>").expect("written");
        let report = import_files(&[first, second, notes], dir.path(), SyncMode::Normal).expect("imported");
        assert_eq!(
            (
                report.conversations,
                report.messages,
                report.messages_already_there
            ),
            (0, 10, BATCH + 1)
        );
        assert_eq!(report.messages_without_conversation, 0);
    }
}
