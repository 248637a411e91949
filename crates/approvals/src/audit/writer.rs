//! The audit writer: one thread owns the sink and writes the service's records in the
//! order they were recorded, a batch at a time — everything queued when it looks, up to
//! [`AuditConfig::batch`] records, with one [`AuditSink::write`] and one
//! [`AuditSink::sync`]. One thread, one queue: decision records and security records share
//! one chain, and a record recorded after another by the same thread is written after it.
//!
//! Three ways to record:
//!
//! - **plain** (`decision` records of allow and deny, `input.refused`): in
//!   [`AuditMode::Background`] queued without waiting — when the queue is full the record
//!   is dropped and counted, never waited for, and the next batch carries an
//!   `audit.dropped` record with the count; in [`AuditMode::Group`] waited for like a
//!   security record, so concurrent decisions share one sync (group commit);
//! - **kept** (the `decision` record of an `approve`): queued, waiting for room but not for
//!   the write — the challenge record that follows it is durable, and so everything queued
//!   before it;
//! - **durable** (challenge, answer, collection, redemption, enrolment, reset): written and
//!   synced before the call returns; an error is returned to the caller (fail closed).
//!
//! A sink that failed its last batch makes plain records fail too (the decision is
//! refused, not left unrecorded) until a batch is written again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use jiff::Timestamp;

use super::{AuditSink, Entry, Stamped};
use crate::error::Error;

/// How plain decision records reach the sink.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditMode {
    /// Queued; a background thread writes them in batches. A decision never waits for the
    /// log; a full queue drops records (counted, and an `audit.dropped` record says how
    /// many), and a crash loses what was still queued. The default: a decision record
    /// says what was decided, not what was done, and waiting for a disk on every allow
    /// serialises a service's decisions on that disk.
    #[default]
    Background,
    /// On stable storage before the decision returns; concurrent decisions share one
    /// `fsync` (group commit). For deployments that must never lose a decision record.
    Group,
}

/// How the audit writer is tuned ([`crate::Config::audit`]).
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// Plain records in the background or on disk first.
    pub mode: AuditMode,
    /// Records the queue holds (at least 1; 4,096 by default). A security record waits
    /// for room; a plain background record beyond it is dropped and counted.
    pub queue: usize,
    /// The most records written as one batch (at least 1; 512 by default).
    pub batch: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            mode: AuditMode::Background,
            queue: 4096,
            batch: 512,
        }
    }
}

/// What the audit writer has done since the service started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditStats {
    /// Records written and synced (`audit.dropped` records included).
    pub written: u64,
    /// Batches written: one write and one sync each.
    pub batches: u64,
    /// Plain records lost: the queue was full, or the sink refused their batch.
    pub dropped: u64,
    /// Batches the sink refused (write or sync).
    pub failed: u64,
    /// Calls waiting now for their record to be synced (security records, and decisions
    /// in group mode).
    pub waiting: u64,
}

/// How a record is waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Durability {
    /// A decision record: the mode decides.
    Plain,
    /// Queued surely (waits for room), not waited for: a durable record follows it.
    Kept,
    /// Written and synced before the call returns.
    Durable,
}

type Reply = SyncSender<Result<(), String>>;

/// A record's entry: built, or to be built on the writer's thread (a plain decision's
/// record, whose fields need the request parsed: work the decision need not wait for).
pub(crate) enum Pending {
    /// Built by the caller.
    Ready(Entry),
    /// Built by the writer, just before the record is stamped.
    Later(Box<dyn FnOnce() -> Entry + Send>),
}

impl From<Entry> for Pending {
    fn from(entry: Entry) -> Pending {
        Pending::Ready(entry)
    }
}

impl Pending {
    fn build(self) -> Entry {
        match self {
            Pending::Ready(entry) => entry,
            Pending::Later(build) => build(),
        }
    }
}

enum Msg {
    Record {
        entry: Pending,
        at: Timestamp,
        reply: Option<Reply>,
        /// Counted as dropped when its batch fails (a plain record nobody waits for).
        plain: bool,
    },
    Flush(Reply),
}

/// A value alone on its cache line, so that the writer's counters do not evict what every
/// decision reads.
#[repr(align(128))]
#[derive(Default)]
struct Line<T>(T);

#[derive(Default)]
struct Shared {
    /// Whether the sink refused its last batch (read by every background decision).
    failing: Line<AtomicBool>,
    /// Plain records dropped and not yet on record.
    unrecorded: Line<AtomicU64>,
    dropped: AtomicU64,
    written: AtomicU64,
    batches: AtomicU64,
    failed: AtomicU64,
    waiting: AtomicU64,
    /// Why the sink last failed.
    error: Mutex<String>,
}

impl Shared {
    fn fail(&self, message: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut e) = self.error.lock() {
            message.clone_into(&mut e);
        }
        self.failing.0.store(true, Ordering::Release);
    }

    fn failure(&self) -> Error {
        let why = self
            .error
            .lock()
            .map(|e| e.clone())
            .unwrap_or_else(|_| "unknown".into());
        Error::Audit(format!(
            "the audit sink refused its last batch, so no decision is made unrecorded: {why}"
        ))
    }
}

fn stopped() -> Error {
    Error::Audit("the audit writer has stopped (its sink panicked); restart the service".into())
}

/// The queue and the thread that writes it. Dropping it writes everything queued, syncs,
/// and joins the thread.
pub(crate) struct Writer {
    queue: Option<SyncSender<Msg>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    mode: AuditMode,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("mode", &self.mode)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread over `sink`.
    pub(crate) fn start(sink: Arc<dyn AuditSink>, config: &AuditConfig) -> Result<Writer, Error> {
        let capacity = config.queue.max(1);
        let batch = config.batch.max(1);
        let (queue, received) = mpsc::sync_channel(capacity);
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("writ-audit".into())
            .spawn({
                let shared = shared.clone();
                move || run(&*sink, &received, &shared, batch, capacity)
            })
            .map_err(|e| Error::Audit(format!("cannot start the audit writer thread: {e}")))?;
        Ok(Writer {
            queue: Some(queue),
            shared,
            thread: Some(thread),
            mode: config.mode,
        })
    }

    /// Records `entry` at `at`, waiting as `durability` says.
    pub(crate) fn record(
        &self,
        entry: Pending,
        at: Timestamp,
        durability: Durability,
    ) -> Result<(), Error> {
        let queue = self.queue.as_ref().ok_or_else(stopped)?;
        match (durability, self.mode) {
            (Durability::Plain, AuditMode::Background) => {
                let msg = Msg::Record {
                    entry,
                    at,
                    reply: None,
                    plain: true,
                };
                match queue.try_send(msg) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        self.shared.unrecorded.0.fetch_add(1, Ordering::Relaxed);
                        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => return Err(stopped()),
                }
                if self.shared.failing.0.load(Ordering::Acquire) {
                    return Err(self.shared.failure());
                }
                Ok(())
            }
            (Durability::Kept, _) => {
                let msg = Msg::Record {
                    entry,
                    at,
                    reply: None,
                    plain: true,
                };
                queue.send(msg).map_err(|_| stopped())
            }
            (Durability::Plain, AuditMode::Group) | (Durability::Durable, _) => {
                let (reply, answer) = mpsc::sync_channel(1);
                let msg = Msg::Record {
                    entry,
                    at,
                    reply: Some(reply),
                    plain: false,
                };
                queue.send(msg).map_err(|_| stopped())?;
                self.shared.waiting.fetch_add(1, Ordering::Relaxed);
                let answered = wait(&answer);
                self.shared.waiting.fetch_sub(1, Ordering::Relaxed);
                answered
            }
        }
    }

    /// Returns once everything recorded before is written and synced.
    pub(crate) fn flush(&self) -> Result<(), Error> {
        let queue = self.queue.as_ref().ok_or_else(stopped)?;
        let (reply, answer) = mpsc::sync_channel(1);
        queue.send(Msg::Flush(reply)).map_err(|_| stopped())?;
        wait(&answer)
    }

    /// What the writer has done so far.
    pub(crate) fn stats(&self) -> AuditStats {
        let s = &self.shared;
        AuditStats {
            written: s.written.load(Ordering::Relaxed),
            batches: s.batches.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            waiting: s.waiting.load(Ordering::Relaxed),
        }
    }
}

fn wait(answer: &Receiver<Result<(), String>>) -> Result<(), Error> {
    match answer.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(Error::Audit(message)),
        Err(_) => Err(stopped()),
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // The thread sees the queue closed once it has taken everything in it.
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: a batch at a time until the queue is closed and empty.
fn run(
    sink: &dyn AuditSink,
    received: &Receiver<Msg>,
    shared: &Shared,
    batch: usize,
    capacity: usize,
) {
    let mut msgs = Vec::with_capacity(batch);
    let mut last_ts = None;
    while let Ok(first) = received.recv() {
        msgs.push(first);
        while msgs.len() < batch {
            match received.try_recv() {
                Ok(msg) => msgs.push(msg),
                Err(_) => break,
            }
        }
        let full = msgs.len() >= batch;
        let waited = write_batch(sink, &mut msgs, shared, capacity, &mut last_ts);
        if !full && !waited {
            // Nobody waits: let records gather for a moment instead of parking at once,
            // so that a decision seldom has to wake this thread (a system call on its
            // path) and batches grow under load.
            std::thread::sleep(LINGER);
        }
    }
    // Closed: a count of drops not yet on record gets its record.
    if shared.unrecorded.0.load(Ordering::Acquire) > 0 {
        let _ = write_batch(sink, &mut msgs, shared, capacity, &mut last_ts);
    }
}

/// How long the writer lets plain records gather after a batch nobody waited for. A
/// security record or a flush that comes meanwhile waits at most this much longer.
const LINGER: std::time::Duration = std::time::Duration::from_millis(1);

/// Writes `msgs` (emptying it) with one write and one sync, an `audit.dropped` record last
/// when records were dropped since the last one, and answers whoever waits; returns whether
/// anyone did.
fn write_batch(
    sink: &dyn AuditSink,
    msgs: &mut Vec<Msg>,
    shared: &Shared,
    capacity: usize,
    last_ts: &mut Option<String>,
) -> bool {
    let mut records = Vec::with_capacity(msgs.len() + 1);
    let mut replies = Vec::new();
    let mut plain = 0u64;
    for msg in msgs.drain(..) {
        match msg {
            Msg::Record {
                entry,
                at,
                reply,
                plain: is_plain,
            } => {
                records.push(Stamped {
                    entry: entry.build(),
                    ts: at.to_string(),
                });
                plain += u64::from(is_plain);
                replies.extend(reply);
            }
            Msg::Flush(reply) => replies.push(reply),
        }
    }
    if let Some(last) = records.last() {
        *last_ts = Some(last.ts.clone());
    }
    // The records dropped so far were dropped while those above waited in the queue: they
    // came after them.
    let dropped = shared.unrecorded.0.swap(0, Ordering::AcqRel);
    if dropped > 0 {
        let ts = last_ts
            .clone()
            .unwrap_or_else(|| Timestamp::now().to_string());
        records.push(Stamped {
            entry: Entry::new("audit.dropped")
                .with("count", dropped)
                .with("queue", capacity as u64),
            ts,
        });
    }
    if records.is_empty() {
        // A flush with nothing queued: every batch before it was synced, or failed.
        let answer = if shared.failing.0.load(Ordering::Acquire) {
            Err(message(shared.failure()))
        } else {
            Ok(())
        };
        let waited = !replies.is_empty();
        for reply in replies {
            let _ = reply.try_send(answer.clone());
        }
        return waited;
    }
    let n = records.len() as u64;
    let result = {
        match sink.write(records) {
            Err(e) => {
                // Lost: the plain records and the count that was to say so; counted again
                // for the next batch's `audit.dropped`.
                shared.dropped.fetch_add(plain, Ordering::Relaxed);
                shared
                    .unrecorded
                    .0
                    .fetch_add(plain + dropped, Ordering::AcqRel);
                Err(message(e))
            }
            Ok(()) => {
                shared.written.fetch_add(n, Ordering::Relaxed);
                sink.sync().map_err(message)
            }
        }
    };
    match &result {
        Ok(()) => {
            shared.batches.fetch_add(1, Ordering::Relaxed);
            shared.failing.0.store(false, Ordering::Release);
        }
        Err(m) => shared.fail(m),
    }
    let waited = !replies.is_empty();
    for reply in replies {
        let _ = reply.try_send(result.clone());
    }
    waited
}

fn message(e: Error) -> String {
    match e {
        Error::Audit(m) => m,
        other => other.to_string(),
    }
}
