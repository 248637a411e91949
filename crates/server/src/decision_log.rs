//! The decision log: one JSON line per decision (decision id, request id, caller, policy
//! version, outcome, risk, rules, digest), written by a background thread fed through a
//! bounded queue. A decision never waits for it: when the queue is full the record is
//! dropped and counted. Never a grant, a key, a code or a collection secret: the record
//! type has no field that could hold one.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::Serialize;

/// One decision, as logged.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// When (RFC 3339).
    pub ts: String,
    /// The decision's id (in responses as `decision_id` / `context.id`).
    pub decision_id: String,
    /// The HTTP exchange's `X-Request-ID`.
    pub request_id: String,
    /// The route.
    pub route: &'static str,
    /// Who asked (the authenticated caller's id).
    pub caller: String,
    /// The policy version that decided.
    pub policy_version: String,
    /// `allow`, `deny`, `approve` or `error`.
    pub outcome: &'static str,
    /// The risk score.
    pub risk: u32,
    /// The rules that produced the decision.
    pub rules: Vec<String>,
    /// The transaction digest, for `approve` and redemptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The refusal code of a refused redemption or an approve that could not open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

enum Msg {
    Record(Box<Record>),
    Stop,
}

/// Where records go.
pub enum Sink {
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(std::fs::File),
    /// Anything else (tests).
    Writer(Box<dyn Write + Send>),
}

/// A running decision log.
pub struct DecisionLog {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for DecisionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionLog")
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

fn run(rx: &Receiver<Msg>, sink: Sink) {
    let mut out: Box<dyn Write> = match sink {
        Sink::Stdout => Box::new(std::io::BufWriter::new(std::io::stdout())),
        Sink::File(f) => Box::new(std::io::BufWriter::new(f)),
        Sink::Writer(w) => Box::new(std::io::BufWriter::new(w)),
    };
    while let Ok(msg) = rx.recv() {
        let mut stop = false;
        let write = |m: Msg, out: &mut Box<dyn Write>| match m {
            Msg::Record(r) => {
                let mut line = serde_json::to_vec(&r).unwrap_or_default();
                line.push(b'\n');
                let _ = out.write_all(&line);
                false
            }
            Msg::Stop => true,
        };
        stop |= write(msg, &mut out);
        // Drain what is queued, then flush once: a burst costs one write.
        while !stop {
            match rx.try_recv() {
                Ok(m) => stop |= write(m, &mut out),
                Err(_) => break,
            }
        }
        let _ = out.flush();
        if stop {
            break;
        }
    }
    let _ = out.flush();
}

impl DecisionLog {
    /// Starts the writer thread with a queue of `capacity` records.
    pub fn start(sink: Sink, capacity: usize) -> std::io::Result<DecisionLog> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let thread = std::thread::Builder::new()
            .name("writ-decision-log".into())
            .spawn(move || run(&rx, sink))?;
        Ok(DecisionLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a record, or drops and counts it when the writer is behind: never blocks.
    pub fn log(&self, record: Record) {
        match self.tx.try_send(Msg::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Relaxed);
            }
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Writes what is queued, flushes and stops the writer (at shutdown). Records logged
    /// afterwards are dropped and counted.
    pub fn close(&self) {
        let _ = self.tx.send(Msg::Stop);
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn record(i: usize) -> Record {
        Record {
            ts: "2026-01-01T00:00:00Z".into(),
            decision_id: format!("d_{i}"),
            request_id: "r".into(),
            route: "/v1/decide",
            caller: "c".into(),
            policy_version: "v".into(),
            outcome: "allow",
            risk: 0,
            rules: vec![],
            digest: None,
            refusal: None,
        }
    }

    #[test]
    fn every_record_queued_before_close_is_written() {
        let buf = Shared::default();
        let log = DecisionLog::start(Sink::Writer(Box::new(buf.clone())), 10_000).unwrap();
        for i in 0..500 {
            log.log(record(i));
        }
        log.close();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count() as u64 + log.dropped(), 500);
        assert_eq!(log.dropped(), 0);
        log.log(record(0));
        assert_eq!(log.dropped(), 1);
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        // A writer that blocks until released: the writer thread stops in it, and the
        // queue (capacity 2) fills behind it. The writer may hold a few records in its
        // buffer before it blocks, so what is checked is that logging never waited, that
        // records were dropped, and that every record was either written or counted.
        struct Gate(Arc<Mutex<()>>, Shared);
        impl Write for Gate {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                let _g = self.0.lock().unwrap();
                self.1 .0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                let _g = self.0.lock().unwrap();
                Ok(())
            }
        }
        let gate = Arc::new(Mutex::new(()));
        let written = Shared::default();
        let held = gate.lock().unwrap();
        let log = DecisionLog::start(
            Sink::Writer(Box::new(Gate(gate.clone(), written.clone()))),
            2,
        )
        .unwrap();
        for i in 0..1_000 {
            log.log(record(i));
        }
        // The loop above finished while the writer was blocked: logging never waits.
        let dropped = log.dropped();
        assert!(dropped > 0, "nothing dropped while the writer was blocked");
        drop(held);
        log.close();
        let text = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count() as u64 + dropped, 1_000);
        assert_eq!(
            log.dropped(),
            dropped,
            "nothing dropped after the writer was released"
        );
    }
}
