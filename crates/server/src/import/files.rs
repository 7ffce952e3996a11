//! Importing export files, all that is left of an app once LeanCloud has ended:
//! `chinwag-server import --from-files <PATH>...`.
//!
//! What LeanCloud gives (`shared/protocol/REST.md` §1.2): its data export (console, or `POST
//! /1.1/exportData`) is a `.tar.gz` of JSON Lines files, one or more per class
//! (`_Conversation.0.jsonl`), each perhaps opening with a line `#filetype:JSON-streaming
//! {"type":"Class","class":"_Conversation"}`. Message history is not in it: teams read it over the
//! IM REST API (`GET /1.2/rtm/messages`, what `import --from` reads) and keep the answers as files.
//!
//! A PATH is a `.tar.gz`/`.tgz`/`.tar` archive, a folder (read recursively, in name order) or one
//! file, and a file may be gzipped (`….jsonl.gz`). Files named `*.jsonl` or `*.json` are read,
//! others skipped. A file holds JSON values one after another, each a row, a list of rows (a REST
//! page) or `{"results": [rows]}`: JSON Lines, concatenated pages and single documents alike.
//! Leading lines starting with `#` (or `filetype:`) are skipped, and one naming a class names the
//! file's class; otherwise the class is the file name up to its first dot. By class:
//!
//! - `_Conversation`: conversations, normal ones with their members (`m`). They are read first,
//!   as a message is kept only when its conversation is imported;
//! - `_ConversationMemberInfo`: managers. When such a file is given, the managers of every
//!   imported normal conversation are exactly the ones it lists;
//! - `_SysMessage`: messages clients sent to service conversations, kept for the service only;
//! - any other file whose first row has a `msg-id`: history, rows as the REST API lists them;
//! - anything else (the other classes of a whole app's export, `_User` and so on) is skipped.
//!
//! Not in any export, so not imported from files: service conversations' subscribers, shut-up
//! lists and blacklists (what an earlier import brought of them stays). Rows are streamed and
//! written in batches of 1,000 (`BATCH`), each its own transaction; as in the REST import, only
//! the conversation list is held in memory. A file that is one big JSON list is read whole
//! first. An archive is read twice (conversations and roles, then history), never unpacked.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use serde_json::Value;

use super::rows::{
    conversation_record, manager_of, member_info_conversation, message_record, service_message_record,
};
use super::{ImportError, POSITION_CHUNK, Progress, Report, in_transaction};
use crate::storage::{ConversationRecord, MessageRecord, SqliteStorage, SyncMode};

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
    import.write_managers()?;
    for chunk in import.progress.read_positions().chunks(POSITION_CHUNK) {
        in_transaction(&mut import.db, |db| super::raise_read_positions(db, chunk))?;
    }
    Ok(import.progress.report)
}

/// One file import's destination and progress.
struct FileImport {
    db: SqliteStorage,
    progress: Progress,
    /// The managers of each conversation, by id, once a `_ConversationMemberInfo` file was read.
    managers: Option<BTreeMap<String, Vec<String>>>,
}

impl FileImport {
    /// First pass: `_Conversation` files, written in batches; `_ConversationMemberInfo` files,
    /// whose managers are kept until every conversation is known.
    fn conversations_and_roles(&mut self, file: ExportFile<'_>) -> Result<(), ImportError> {
        match file.class.as_str() {
            "_Conversation" => {
                self.progress.report.files += 1;
                let mut batch = Vec::with_capacity(BATCH);
                each_row(file, |row| {
                    batch.extend(conversation_record(&row));
                    if batch.len() == BATCH {
                        self.write_conversations(std::mem::take(&mut batch))?;
                    }
                    Ok(ControlFlow::Continue(()))
                })?;
                self.write_conversations(batch)
            }
            "_ConversationMemberInfo" => {
                self.progress.report.files += 1;
                let managers = self.managers.get_or_insert_default();
                each_row(file, |row| {
                    if let (Some(cid), Some(client_id)) = (member_info_conversation(&row), manager_of(&row)) {
                        managers
                            .entry(cid.to_owned())
                            .or_default()
                            .push(client_id.to_owned());
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
    /// files are skipped.
    fn history(&mut self, file: ExportFile<'_>) -> Result<(), ImportError> {
        let service_messages = match file.class.as_str() {
            "_SysMessage" => true,
            "_Conversation" | "_ConversationMemberInfo" => return Ok(()),
            _ => false,
        };
        let path = file.path.clone();
        let mut batch: Vec<MessageRecord> = Vec::with_capacity(BATCH);
        let mut first = true;
        each_row(file, |row| {
            if std::mem::take(&mut first) {
                if !service_messages && row.get("msg-id").is_none() {
                    tracing::info!(%path, "neither IM history nor a class an import reads: skipped");
                    return Ok(ControlFlow::Break(()));
                }
                self.progress.report.files += 1;
            }
            let imported = |cid: &str| self.progress.imported(cid);
            let read = if service_messages {
                service_message_record(&row, imported)
            } else {
                message_record(&row, imported)
            };
            batch.extend(self.progress.message(read));
            if batch.len() == BATCH {
                self.write_messages(std::mem::take(&mut batch))?;
            }
            Ok(ControlFlow::Continue(()))
        })?;
        self.write_messages(batch)
    }

    fn write_messages(&mut self, batch: Vec<MessageRecord>) -> Result<(), ImportError> {
        let written = in_transaction(&mut self.db, |db| super::write_messages(db, &batch))?;
        self.progress.messages_written(written, batch.len());
        Ok(())
    }

    /// With a `_ConversationMemberInfo` file read: each imported normal conversation's managers
    /// are the ones it lists (none for a conversation it does not name). Without one, the roles an
    /// earlier import brought stay.
    fn write_managers(&mut self) -> Result<(), ImportError> {
        let Some(managers) = self.managers.take() else {
            return Ok(());
        };
        for chunk in self.progress.with_members().chunks(POSITION_CHUNK) {
            let written = in_transaction(&mut self.db, |db| {
                let mut written = 0;
                for cid in chunk {
                    let listed = managers.get(cid).map_or(&[][..], Vec::as_slice);
                    super::write_managers(db, cid, listed)?;
                    written += listed.len();
                }
                Ok(written)
            })?;
            self.progress.report.managers += written;
        }
        Ok(())
    }
}

/// One export file being read.
struct ExportFile<'a> {
    /// Where it is, for messages (inside an archive: `archive.tar.gz/inner/path`).
    path: String,
    /// Its class: what its header names, else its file name up to the first dot.
    class: String,
    /// Its content past the header lines.
    content: Box<dyn BufRead + 'a>,
}

/// Calls `visit` with each export file at `path`: an archive's files, a folder's (recursively,
/// in name order), or the file itself.
fn each_file(
    path: &Path,
    visit: &mut dyn FnMut(ExportFile<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let shown = path.display().to_string();
    let failed = |error: std::io::Error| file_error(&shown, error);
    if path.is_dir() {
        let mut entries = std::fs::read_dir(path)
            .and_then(|entries| {
                entries
                    .map(|entry| Ok(entry?.path()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(failed)?;
        entries.sort();
        return entries.iter().try_for_each(|entry| each_file(entry, visit));
    }
    let file = BufReader::new(File::open(path).map_err(failed)?);
    let name = file_name(&shown);
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        each_archived_file(GzDecoder::new(file), &shown, visit)
    } else if name.ends_with(".tar") {
        each_archived_file(file, &shown, visit)
    } else {
        open(shown.clone(), file, visit)
    }
}

/// Calls `visit` with each file of the tar archive `archive` (at `shown`).
fn each_archived_file(
    archive: impl Read,
    shown: &str,
    visit: &mut dyn FnMut(ExportFile<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let failed = |error: std::io::Error| file_error(shown, error);
    let mut archive = tar::Archive::new(archive);
    for entry in archive.entries().map_err(failed)? {
        let entry = entry.map_err(failed)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let inner = entry.path().map_err(failed)?.display().to_string();
        open(format!("{shown}/{inner}"), entry, visit)?;
    }
    Ok(())
}

/// Calls `visit` with the file `path` holding `content`, if it is JSON (`.json`, `.jsonl`,
/// either maybe gzipped): past its header lines, with its class.
fn open<'a>(
    path: String,
    content: impl Read + 'a,
    visit: &mut dyn FnMut(ExportFile<'_>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let name = file_name(&path).to_ascii_lowercase();
    let (name, gzipped) = match name.strip_suffix(".gz") {
        Some(inner) => (inner, true),
        None => (name.as_str(), false),
    };
    if !name.ends_with(".jsonl") && !name.ends_with(".json") {
        tracing::debug!(%path, "not a JSON file: skipped");
        return Ok(());
    }
    let mut content: Box<dyn BufRead + 'a> = if gzipped {
        Box::new(BufReader::new(GzDecoder::new(content)))
    } else {
        Box::new(BufReader::new(content))
    };
    let named = skip_header(&mut content).map_err(|error| file_error(&path, error))?;
    let class = named.unwrap_or_else(|| {
        let name = file_name(&path);
        name.split('.').next().unwrap_or(name).to_owned()
    });
    visit(ExportFile { path, class, content })
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
            // A JSON row starts with `{` or `[`; a header with `#`, or `f` without the `#`.
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

/// Calls `row` with each row of `file`: its JSON values one after another, a list's items and a
/// `{"results": […]}`'s items each a row; until `row` breaks. A value that is not JSON ends the
/// import with the file and line.
fn each_row(
    file: ExportFile<'_>,
    mut row: impl FnMut(Value) -> Result<ControlFlow<()>, ImportError>,
) -> Result<(), ImportError> {
    let values = serde_json::Deserializer::from_reader(file.content).into_iter::<Value>();
    for value in values {
        let value = value.map_err(|error| ImportError::File {
            path: file.path.clone(),
            reason: format!("not JSON: {error}"),
        })?;
        let rows = match value {
            Value::Array(rows) => rows,
            Value::Object(mut page) if page.get("results").is_some_and(Value::is_array) => {
                match page.remove("results") {
                    Some(Value::Array(rows)) => rows,
                    _ => unreachable!("checked to be a list"),
                }
            }
            single => vec![single],
        };
        for value in rows {
            if row(value)?.is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The last part of `path` (`/` separated, as in archives).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', std::path::MAIN_SEPARATOR])
        .next()
        .unwrap_or(path)
}

fn file_error(path: &str, error: std::io::Error) -> ImportError {
    ImportError::File {
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The class and rows `open` + `each_row` read from a file named `name` holding `content`.
    fn read(name: &str, content: &[u8]) -> (String, Vec<Value>) {
        let mut found = None;
        open(name.to_owned(), content, &mut |file| {
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
        open("schema/_Conversation.txt".to_owned(), &b"{}"[..], &mut |_| {
            visited = true;
            Ok(())
        })
        .expect("skipped");
        assert!(!visited, "not a JSON file");
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let error = open(
            "h.jsonl".to_owned(),
            &b"{\"msg-id\":\"1\"}\n{\"msg-id\": tru"[..],
            &mut |file| each_row(file, |_| Ok(ControlFlow::Continue(()))),
        )
        .expect_err("not JSON");
        let shown = error.to_string();
        assert!(shown.starts_with("h.jsonl: not JSON"), "{shown}");
    }
}
