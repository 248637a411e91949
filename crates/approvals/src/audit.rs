//! The audit log: JSON lines, hash-chained. Each record carries `seq`, the previous
//! record's hash (`prev`) and its own (`hash` = `"sha256:" + hex(SHA-256(JCS(record
//! without "hash"))))`), so an edited, removed or reordered record breaks the chain where
//! it happened, and [`verify`] names it. Appends from several threads or processes are
//! serialised by an exclusive lock on the file.
//!
//! The service does not append itself: [`AuditLog`] is one [`AuditSink`], and one writer
//! thread (`audit/writer.rs`) owns the sink, fed by a bounded queue. Decision records are
//! written in batches (one write and one sync per batch) without the decision waiting, or
//! group-committed ([`AuditMode::Group`]); security records are durable before their call
//! returns. Both share one chain.
//!
//! The chain alone shows that the log was not edited *in part*; whoever can write the file
//! can still rewrite it from any record onwards and chain the rewrite anew. A log opened
//! with an audit key ([`AuditLog::signed`]) therefore also signs every record: `sig` is an
//! Ed25519 signature over `"writ-audit-v1" || 0x00 || hash`, outside the hashed content.
//! Verified with the public key ([`Verify::key`]), a rewrite without the private key is
//! found record by record.
//!
//! Limit: a file alone cannot show that records were cut from its end; keep the head
//! hash that [`verify`] returns (or ship records as they are written) to catch that.

mod writer;

pub use writer::{AuditConfig, AuditMode, AuditStats};
pub(crate) use writer::{Durability, Pending, Writer};

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value as Json};
use sha2::{Digest as _, Sha256};

use ed25519_dalek::VerifyingKey;

use crate::encode::hex;
use crate::error::Error;
use crate::keys::{verify_b64, KeyPair};

/// The domain of an audit record's signature: the key signs
/// `"writ-audit-v1" || 0x00 || hash`.
pub const AUDIT_DOMAIN: &[u8] = b"writ-audit-v1\0";

fn signed_message(hash: &str) -> Vec<u8> {
    [AUDIT_DOMAIN, hash.as_bytes()].concat()
}

/// `prev` of the first record.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// One record before it is chained: an event name and its fields.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    fields: Map<String, Json>,
}

impl Entry {
    /// A record of `event`.
    pub fn new(event: &str) -> Entry {
        let mut fields = Map::new();
        fields.insert("event".into(), Json::from(event));
        Entry { fields }
    }

    /// Adds a field (a `None` is written as `null`, so every record of an event has the
    /// same fields).
    pub fn with(mut self, name: &str, value: impl Into<Json>) -> Entry {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// Its fields, `event` included.
    pub fn fields(&self) -> &Map<String, Json> {
        &self.fields
    }
}

/// An entry and the time it was recorded at (RFC 3339): what a sink chains and writes.
#[derive(Clone, Debug)]
pub struct Stamped {
    /// The record's event and fields.
    pub entry: Entry,
    /// When it was recorded (RFC 3339), its `ts`.
    pub ts: String,
}

impl Stamped {
    /// `entry` recorded at `ts` (RFC 3339).
    pub fn new(entry: Entry, ts: &str) -> Stamped {
        Stamped {
            entry,
            ts: ts.to_string(),
        }
    }
}

/// Where the service's audit records go. One writer thread owns the sink and calls it a
/// batch at a time, in the order records were recorded: [`AuditSink::write`] once, then
/// [`AuditSink::sync`] once. [`AuditLog`] (the hash-chained, signed file) is the
/// embedded one; a sink that ships records elsewhere keeps their order and makes
/// `sync` mean "on stable storage".
pub trait AuditSink: Send + Sync {
    /// Chains `batch` after the records before it, in order, and writes it (one write).
    fn write(&self, batch: Vec<Stamped>) -> Result<(), Error>;
    /// Makes everything written so far durable (one `fsync` for a file).
    fn sync(&self) -> Result<(), Error>;
}

#[derive(Clone, Debug)]
struct Tail {
    /// File length after our last append (to see other writers).
    len: u64,
    seq: u64,
    hash: String,
}

/// An append-only, hash-chained log file.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<(File, Option<Tail>)>,
    sync: bool,
    key: Option<KeyPair>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn audit_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Audit(format!("`{}`: {e}", path.display()))
}

/// The hash of a record (without its `hash` field).
fn record_hash(record: &Map<String, Json>) -> String {
    let canonical = serde_json_canonicalizer::to_vec(record).unwrap_or_default();
    format!("sha256:{}", hex(&Sha256::digest(&canonical)))
}

impl AuditLog {
    /// Opens (or creates) the log; `sync` makes every append durable (`fsync`) before it
    /// returns.
    pub fn open(path: &Path, sync: bool) -> Result<AuditLog, Error> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::files::create_private_dir(parent).map_err(|e| audit_err(parent, e))?;
        }
        // Owner-only when created: the log names people, requests and decisions.
        let file = crate::files::open_with_mode(
            OpenOptions::new().read(true).append(true).create(true),
            path,
            crate::files::SECRET_FILE_MODE,
        )
        .map_err(|e| audit_err(path, e))?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file: Mutex::new((file, None)),
            sync,
            key: None,
        })
    }

    /// The same log, every record from now on signed with `key` (its `sig` field).
    pub fn signed(mut self, key: KeyPair) -> AuditLog {
        self.key = Some(key);
        self
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Chains and appends one record at `ts` (RFC 3339); returns its hash.
    pub fn append(&self, entry: Entry, ts: &str) -> Result<String, Error> {
        self.append_all(vec![Stamped::new(entry, ts)])
    }

    /// Chains `batch` after the file's last record, in order, and appends it with one
    /// write, all under the file's lock; durable before it returns when the log was opened
    /// with `sync`. Returns the last record's hash (the previous head when `batch` is
    /// empty).
    pub fn append_all(&self, batch: Vec<Stamped>) -> Result<String, Error> {
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (file, cached) = &mut *guard;
        file.lock().map_err(|e| audit_err(&self.path, e))?;
        let result = self.append_locked(file, cached, batch);
        let unlocked = file.unlock().map_err(|e| audit_err(&self.path, e));
        let hash = result?;
        unlocked?;
        Ok(hash)
    }

    fn append_locked(
        &self,
        file: &mut File,
        cached: &mut Option<Tail>,
        batch: Vec<Stamped>,
    ) -> Result<String, Error> {
        let len = file.metadata().map_err(|e| audit_err(&self.path, e))?.len();
        let mut tail = match cached {
            Some(t) if t.len == len => t.clone(),
            _ => read_tail(file, len).map_err(|e| audit_err(&self.path, e))?,
        };
        let mut lines = Vec::new();
        for Stamped { entry, ts } in batch {
            // A tail whose `seq` cannot be followed was written by someone else (no log of
            // this engine reaches 2^64 records): refuse rather than wrap to `seq` 0.
            let Some(next) = tail.seq.checked_add(1) else {
                return Err(audit_err(
                    &self.path,
                    format!(
                        "the last record's seq is {}, which no record can follow: the log was tampered with; run `writ audit verify` and start a new log",
                        tail.seq
                    ),
                ));
            };
            let mut record = Map::new();
            record.insert("seq".into(), Json::from(next));
            record.insert("ts".into(), Json::from(ts));
            for (k, v) in entry.fields {
                record.insert(k, v);
            }
            record.insert("prev".into(), Json::from(std::mem::take(&mut tail.hash)));
            let hash = record_hash(&record);
            record.insert("hash".into(), Json::from(hash.clone()));
            if let Some(key) = &self.key {
                record.insert(
                    "sig".into(),
                    Json::from(key.sign_b64(&signed_message(&hash))),
                );
            }
            serde_json::to_writer(&mut lines, &record).map_err(|e| audit_err(&self.path, e))?;
            lines.push(b'\n');
            tail.seq = next;
            tail.hash = hash;
        }
        file.write_all(&lines)
            .map_err(|e| audit_err(&self.path, e))?;
        if self.sync {
            file.sync_data().map_err(|e| audit_err(&self.path, e))?;
        }
        tail.len = len + lines.len() as u64;
        let hash = tail.hash.clone();
        *cached = Some(tail);
        Ok(hash)
    }

    /// Makes every record written so far durable (`fsync`).
    pub fn sync(&self) -> Result<(), Error> {
        let guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.0.sync_data().map_err(|e| audit_err(&self.path, e))
    }
}

impl AuditSink for AuditLog {
    fn write(&self, batch: Vec<Stamped>) -> Result<(), Error> {
        self.append_all(batch).map(|_| ())
    }

    fn sync(&self) -> Result<(), Error> {
        AuditLog::sync(self)
    }
}

/// The last record's `seq` and `hash` (the genesis for an empty file).
fn read_tail(file: &mut File, len: u64) -> Result<Tail, String> {
    if len == 0 {
        return Ok(Tail {
            len,
            seq: 0,
            hash: GENESIS.into(),
        });
    }
    let mut window = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf).map_err(|e| e.to_string())?;
        if buf.last() != Some(&b'\n') {
            return Err("the log ends with an incomplete record (a crash mid-write?): run `writ audit verify` and repair it before writing more".into());
        }
        let body = &buf[..buf.len() - 1];
        match body.iter().rposition(|b| *b == b'\n') {
            Some(i) => return parse_tail(&body[i + 1..], len),
            None if start == 0 => return parse_tail(body, len),
            None => window *= 4,
        }
    }
}

fn parse_tail(line: &[u8], len: u64) -> Result<Tail, String> {
    let record: Map<String, Json> =
        serde_json::from_slice(line).map_err(|_| "the last record is not JSON".to_string())?;
    let seq = record.get("seq").and_then(Json::as_u64);
    let hash = record.get("hash").and_then(Json::as_str);
    match (seq, hash) {
        (Some(seq), Some(hash)) => Ok(Tail {
            len,
            seq,
            hash: hash.to_string(),
        }),
        _ => Err("the last record has no `seq` or `hash`".into()),
    }
}

/// One problem [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The line (1-based).
    pub line: usize,
    /// The record's `seq`, when readable.
    pub seq: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "line {} (seq {seq}): {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// What a clean verification saw.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    /// Records checked.
    pub records: usize,
    /// The last record's hash (keep it to detect records cut from the end later).
    pub head: String,
}

/// What a verification checks beyond every record's hash and the chain.
#[derive(Clone, Copy, Debug, Default)]
pub struct Verify<'a> {
    /// A hash kept from an earlier verification or shipped elsewhere: it must still be a
    /// record of the chain; when it is not, records were cut from the end or the log was
    /// rewritten since.
    pub head: Option<&'a str>,
    /// The audit key's public half: every record must carry its valid signature.
    pub key: Option<&'a VerifyingKey>,
}

/// Checks every record's hash and the chain; returns every problem found.
pub fn verify(path: &Path) -> Result<Result<Verified, Vec<Problem>>, Error> {
    verify_with(path, Verify::default())
}

/// [`verify`], and also what `checks` asks for.
pub fn verify_with(
    path: &Path,
    checks: Verify<'_>,
) -> Result<Result<Verified, Vec<Problem>>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| audit_err(path, e))?;
    Ok(verify_text_with(&text, checks))
}

/// [`verify`] over the log's text.
pub fn verify_text(text: &str) -> Result<Verified, Vec<Problem>> {
    verify_text_with(text, Verify::default())
}

/// Accepts any JSON and refuses an object with a key twice (at any depth): a reader that
/// takes the first of two `approver` keys must not see another record than the hash covers.
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "the key `{key}` appears twice"
                )));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(self)
    }
}

/// [`verify_with`] over the log's text.
pub fn verify_text_with(text: &str, checks: Verify<'_>) -> Result<Verified, Vec<Problem>> {
    let head = checks.head;
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    if !text.is_empty() && !text.ends_with('\n') {
        problems.push(Problem {
            line: lines.len(),
            seq: None,
            message: "the last record is incomplete (no end of line)".into(),
        });
    }
    // First pass: every readable record, and where each `seq` is.
    struct Row {
        line: usize,
        seq: Option<u64>,
        stored: Option<String>,
        sig: Option<Json>,
        own: String,
        prev: String,
    }
    let mut rows = Vec::new();
    let mut at_seq: std::collections::BTreeMap<u64, (usize, String)> = Default::default();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let Ok(mut record) = serde_json::from_str::<Map<String, Json>>(line) else {
            problems.push(Problem {
                line: n,
                seq: None,
                message: if line.trim().is_empty() {
                    "an empty line: the log was edited".into()
                } else {
                    "not a JSON record: the line was edited or damaged".into()
                },
            });
            continue;
        };
        let seq = record.get("seq").and_then(Json::as_u64);
        if let Err(e) = serde_json::from_str::<NoDuplicateKeys>(line) {
            problems.push(Problem {
                line: n,
                seq,
                message: format!("edited: {e}"),
            });
        }
        let stored = record
            .remove("hash")
            .and_then(|h| h.as_str().map(str::to_string));
        let sig = record.remove("sig");
        let own = record_hash(&record);
        let prev = record
            .get("prev")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(s) = seq {
            match at_seq.entry(s) {
                std::collections::btree_map::Entry::Occupied(_) => problems.push(Problem {
                    line: n,
                    seq,
                    message: format!("duplicated: another record before it has seq {s}"),
                }),
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert((n, stored.clone().unwrap_or_default()));
                }
            }
        }
        rows.push(Row {
            line: n,
            seq,
            stored,
            sig,
            own,
            prev,
        });
    }
    // Second pass, in file order: content, position, chain.
    let mut max_seq = 0u64;
    let mut head_seen = false;
    let mut last_hash = GENESIS.to_string();
    for row in &rows {
        let (n, seq) = (row.line, row.seq);
        if row.stored.as_deref() != Some(row.own.as_str()) {
            problems.push(Problem {
                line: n,
                seq,
                message: "edited: the record's hash does not match its content".into(),
            });
        }
        if let Some(key) = checks.key {
            let message = match &row.sig {
                None => Some("unsigned: the record carries no signature by the audit key"),
                Some(Json::String(sig))
                    if verify_b64(key, &signed_message(&row.own), sig) => None,
                Some(_) => Some(
                    "forged: its signature is not the audit key's over its content (rewritten without the key)",
                ),
            };
            if let Some(message) = message {
                problems.push(Problem {
                    line: n,
                    seq,
                    message: message.into(),
                });
            }
        }
        let Some(s) = seq else {
            problems.push(Problem {
                line: n,
                seq,
                message: "the record has no `seq`".into(),
            });
            continue;
        };
        if s == 0 {
            // Sequences start at 1: nothing comes before a 0 and nothing may be one.
            problems.push(Problem {
                line: n,
                seq,
                message: "edited: seq 0 is never written (the first record has seq 1)".into(),
            });
            continue;
        }
        if s <= max_seq {
            problems.push(Problem {
                line: n,
                seq,
                message: format!("reordered: it comes after seq {max_seq}"),
            });
        } else if let Some(missing) = missing_between(&at_seq, max_seq, s) {
            problems.push(Problem {
                line: n,
                seq,
                message: format!("removed: {missing} before it"),
            });
        }
        // The chain: `prev` is the hash of the record with the previous seq, wherever it
        // is in the file (a missing one is reported above).
        if s == 1 {
            if row.prev != GENESIS {
                problems.push(Problem {
                    line: n,
                    seq,
                    message: "the chain does not start at the genesis hash".into(),
                });
            }
        } else if let Some((line, hash)) = at_seq.get(&(s - 1)) {
            if &row.prev != hash {
                problems.push(Problem {
                    line: n,
                    seq,
                    message: format!(
                        "replaced: `prev` is not the hash of the record with seq {} (line {line})",
                        s - 1
                    ),
                });
            }
        }
        if s > max_seq {
            max_seq = s;
            last_hash = row.stored.clone().unwrap_or_default();
        }
        if head.is_some() && row.stored.as_deref() == head {
            head_seen = true;
        }
    }
    if let Some(head) = head.filter(|_| !head_seen) {
        problems.push(Problem {
            line: lines.len(),
            seq: Some(max_seq),
            message: format!(
                "the head `{head}` kept earlier is not in the log: records were cut from its end or it was rewritten"
            ),
        });
    }
    problems.sort_by_key(|p| p.line);
    if problems.is_empty() {
        Ok(Verified {
            records: rows.len(),
            head: last_hash,
        })
    } else {
        Err(problems)
    }
}

/// How many ranges of missing sequence numbers a problem names before it only counts.
const RANGES_NAMED: usize = 8;

/// The sequence numbers strictly between `after` and `before` that no record has, as
/// "the record with seq 5 is missing" or "the records with seq 3 to 29, 31 are missing";
/// `None` when none is. Walks the records present (at most one per line), never the gap
/// itself, so a record claiming seq 10^11 costs no more than one claiming 3.
fn missing_between(
    at_seq: &std::collections::BTreeMap<u64, (usize, String)>,
    after: u64,
    before: u64,
) -> Option<String> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut count: u64 = 0;
    let mut more = 0usize;
    let mut next = after.checked_add(1)?;
    let present = at_seq.range(next..before).map(|(s, _)| *s);
    for bound in present.chain(std::iter::once(before)) {
        if bound > next {
            let last = bound - 1;
            count = count.saturating_add(last - next + 1);
            if ranges.len() < RANGES_NAMED {
                ranges.push((next, last));
            } else {
                more += 1;
            }
        }
        next = bound.saturating_add(1);
    }
    let first = ranges.first()?;
    if count == 1 {
        return Some(format!("the record with seq {} is missing", first.0));
    }
    let mut named: Vec<String> = ranges
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a} to {b}")
            }
        })
        .collect();
    if more > 0 {
        named.push(format!(
            "and {more} more range{}",
            if more == 1 { "" } else { "s" }
        ));
    }
    Some(format!(
        "{count} records (seq {}) are missing",
        named.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(n: usize) -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, false).unwrap();
        for i in 0..n {
            log.append(
                Entry::new("decision").with("i", i as u64),
                "2026-11-27T00:00:00Z",
            )
            .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        (dir, path, text)
    }

    #[test]
    fn a_clean_log_verifies_and_a_reopened_log_continues_the_chain() {
        let (_d, path, _) = log_with(3);
        let log = AuditLog::open(&path, false).unwrap();
        log.append(Entry::new("x"), "2026-11-27T00:00:01Z").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let v = verify_text(&text).unwrap();
        assert_eq!(v.records, 4);
    }

    #[test]
    fn a_duplicate_key_and_a_lost_head_are_found() {
        let (_d, _p, text) = log_with(3);
        let first = text.lines().next().unwrap();
        let v = verify_text(&text).unwrap();
        let doubled = text.replacen(first, &first.replacen("{", "{\"event\":\"forged\",", 1), 1);
        let p = verify_text(&doubled).unwrap_err();
        assert!(
            p.iter()
                .any(|x| x.line == 1 && x.message.contains("appears twice")),
            "{p:?}"
        );
        // Keep the head; cut the last record: the chain alone is intact, the head is gone.
        let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        assert!(verify_text(&cut).is_ok());
        let head = |h| Verify {
            head: Some(h),
            key: None,
        };
        let p = verify_text_with(&cut, head(&v.head)).unwrap_err();
        assert!(p[0].message.contains("not in the log"), "{p:?}");
        assert!(verify_text_with(&text, head(&v.head)).is_ok());
    }

    /// Rewrites the log from record `from` (1-based) on as someone without the key would:
    /// new content, hashes and chain recomputed, signatures left as they were.
    fn rewrite_from(text: &str, from: usize) -> String {
        let mut prev = GENESIS.to_string();
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let mut record: Map<String, Json> = serde_json::from_str(line).unwrap();
            if i + 1 >= from {
                record.insert("i".into(), Json::from(100 + i as u64));
                record.insert("prev".into(), Json::from(prev.clone()));
                record.remove("hash");
                let sig = record.remove("sig");
                let hash = record_hash(&record);
                record.insert("hash".into(), Json::from(hash));
                if let Some(sig) = sig {
                    record.insert("sig".into(), sig);
                }
            }
            prev = record["hash"].as_str().unwrap().to_string();
            out.push_str(&serde_json::to_string(&record).unwrap());
            out.push('\n');
        }
        out
    }

    #[test]
    fn a_signed_log_shows_a_rewrite_that_the_chain_alone_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let key = KeyPair::generate().unwrap();
        let public = key.public();
        let log = AuditLog::open(&path, false).unwrap().signed(key);
        for i in 0..4u64 {
            log.append(Entry::new("decision").with("i", i), "2026-11-27T00:00:00Z")
                .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let signed = |k| Verify {
            head: None,
            key: Some(k),
        };
        assert_eq!(verify_text_with(&text, signed(&public)).unwrap().records, 4);

        // Rewritten from record 3 on: a consistent chain, so the chain alone is fooled...
        let rewritten = rewrite_from(&text, 3);
        assert_ne!(rewritten, text);
        assert!(verify_text(&rewritten).is_ok());
        // ...the signatures are not: records 3 and 4 are named.
        let p = verify_text_with(&rewritten, signed(&public)).unwrap_err();
        let named: Vec<(usize, Option<u64>)> = p.iter().map(|x| (x.line, x.seq)).collect();
        assert_eq!(named, [(3, Some(3)), (4, Some(4))], "{p:?}");
        assert!(p.iter().all(|x| x.message.starts_with("forged")), "{p:?}");

        // Another key: nothing is its; a signature removed: unsigned.
        let other = KeyPair::generate().unwrap().public();
        assert_eq!(
            verify_text_with(&text, signed(&other)).unwrap_err().len(),
            4
        );
        let first = text.lines().next().unwrap();
        let mut bare: Map<String, Json> = serde_json::from_str(first).unwrap();
        bare.remove("sig");
        let stripped = text.replacen(first, &serde_json::to_string(&bare).unwrap(), 1);
        assert!(verify_text(&stripped).is_ok());
        let p = verify_text_with(&stripped, signed(&public)).unwrap_err();
        assert_eq!((p[0].line, p.len()), (1, 1), "{p:?}");
        assert!(p[0].message.starts_with("unsigned"), "{p:?}");
    }

    #[test]
    fn edited_removed_and_reordered_records_are_named() {
        let (_d, _p, text) = log_with(5);
        let lines: Vec<&str> = text.lines().collect();

        let edited = text.replacen("\"i\":2", "\"i\":9", 1);
        let p = verify_text(&edited).unwrap_err();
        assert_eq!((p[0].line, p[0].seq), (3, Some(3)));
        assert!(p[0].message.starts_with("edited"), "{p:?}");

        let removed: String = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let p = verify_text(&removed).unwrap_err();
        assert_eq!((p[0].line, p[0].seq), (2, Some(3)));
        assert!(
            p[0].message.contains("the record with seq 2 is missing"),
            "{p:?}"
        );

        let mut swapped = lines.clone();
        swapped.swap(2, 3);
        let swapped: String = swapped.iter().map(|l| format!("{l}\n")).collect();
        let p = verify_text(&swapped).unwrap_err();
        // A swap is one reorder, not a removal.
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].line, p[0].seq), (4, Some(3)));
        assert!(
            p[0].message.starts_with("reordered: it comes after seq 4"),
            "{p:?}"
        );
        // A seq edited far ahead: the hash says edited; no Rust range syntax in messages.
        let jumped = text.replacen("\"seq\":3,", "\"seq\":30,", 1);
        assert_ne!(jumped, text);
        let p = verify_text(&jumped).unwrap_err();
        assert!(p.iter().any(|x| x.message.starts_with("edited")), "{p:?}");
        assert!(!p.iter().any(|x| x.message.contains("..")), "{p:?}");
    }
}
