//! The audit writer behind the service: decision records queued and written in batches by
//! one thread (nothing lost when the queue has room, drops counted when it has none, a
//! decision never waits), group commit, security records durable before they return, and
//! one chain that verifies after concurrent use and after a drop without a flush.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use writ_approvals::audit::{verify_with, Verify};
use writ_approvals::{
    Approvals, AuditConfig, AuditLog, AuditMode, AuditSink, Config, Error, GrantKey, KeyPair,
    OpenLimits, RedbStore, Stamped, AUDIT_KEY_FILE, AUDIT_LOG_FILE,
};
use writ_reload::{PolicyStore, StoreConfig};

const POLICY: &str = r#"
rule "reads are fine" {
  when action == "db.read"
  allow
}

rule "writes need an owner" {
  when action == "db.write"
  approve { approvers 1 of group "owners" }
}
"#;

fn policies(dir: &Path) -> Arc<PolicyStore> {
    let approver = KeyPair::generate().unwrap();
    let policies = writ_testkit::sets::policy_dir(
        dir,
        "p.writ",
        POLICY,
        &[("olga", "owners", &approver.public_b64())],
    );
    Arc::new(PolicyStore::open(&policies, StoreConfig::default()).unwrap())
}

fn config(mode: AuditMode, queue: usize) -> Config {
    Config {
        limits: OpenLimits {
            per_principal: u32::MAX,
            per_action: u32::MAX,
            ..OpenLimits::default()
        },
        audit: AuditConfig {
            mode,
            queue,
            ..AuditConfig::default()
        },
        ..Config::default()
    }
}

/// The embedded service: the signed file log in `dir/state`.
fn on_file(dir: &Path, mode: AuditMode, queue: usize) -> Approvals {
    Approvals::with_state_dir(policies(dir), &dir.join("state"), config(mode, queue)).unwrap()
}

/// The service over `sink`.
fn on_sink(dir: &Path, sink: Arc<dyn AuditSink>, mode: AuditMode, queue: usize) -> Approvals {
    let state = dir.join("state");
    let store = Arc::new(RedbStore::open(&state).unwrap());
    let key = GrantKey::load_or_create(&state.join("grant.key")).unwrap();
    Approvals::new(policies(dir), store, key, Some(sink), config(mode, queue)).unwrap()
}

fn read(n: usize) -> String {
    json!({"principal": {"id": format!("user-{n}"), "kind": "human"}, "action": "db.read",
           "resource": {"id": "orders"}})
    .to_string()
}

fn write(n: usize) -> String {
    json!({"principal": {"id": format!("user-{n}"), "kind": "human"}, "action": "db.write",
           "resource": {"id": format!("orders-{n}")}})
    .to_string()
}

fn records(state: &Path) -> Vec<Json> {
    std::fs::read_to_string(state.join(AUDIT_LOG_FILE))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The log verifies, every record signed by the state's audit key; returns its size.
fn verified(state: &Path) -> usize {
    let key = KeyPair::read(&state.join(AUDIT_KEY_FILE)).unwrap().public();
    let checks = Verify {
        head: None,
        key: Some(&key),
    };
    verify_with(&state.join(AUDIT_LOG_FILE), checks)
        .unwrap()
        .unwrap()
        .records
}

/// What a sink was given: each batch's events, and how many of them were synced.
#[derive(Default)]
struct Memory {
    batches: Mutex<Vec<Vec<Json>>>,
    synced: AtomicUsize,
    written: AtomicUsize,
    /// While set, every write fails.
    broken: AtomicBool,
    /// The first write waits here (and says so on `entered`) until the test lets it go.
    gate: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
}

impl Memory {
    /// A sink whose first write blocks: returns it, the signal that the writer is inside,
    /// and the release.
    fn gated() -> (Arc<Memory>, mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (entered_tx, entered) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let sink = Memory {
            gate: Mutex::new(Some((entered_tx, release_rx))),
            ..Memory::default()
        };
        (Arc::new(sink), entered, release)
    }

    fn all(&self) -> Vec<Json> {
        self.batches.lock().unwrap().concat()
    }

    fn events(&self) -> Vec<String> {
        self.all()
            .iter()
            .map(|r| r["event"].as_str().unwrap().to_string())
            .collect()
    }
}

impl AuditSink for Memory {
    fn write(&self, batch: Vec<Stamped>) -> Result<(), Error> {
        let gate = self.gate.lock().unwrap().take();
        if let Some((entered, release)) = gate {
            entered.send(()).unwrap();
            release.recv().unwrap();
        }
        if self.broken.load(Ordering::SeqCst) {
            return Err(Error::Audit("the disk is full".into()));
        }
        let rows: Vec<Json> = batch
            .into_iter()
            .map(|s| {
                let mut r = Json::Object(s.entry.fields().clone());
                r["ts"] = Json::from(s.ts);
                r
            })
            .collect();
        self.written.fetch_add(rows.len(), Ordering::SeqCst);
        self.batches.lock().unwrap().push(rows);
        Ok(())
    }

    fn sync(&self) -> Result<(), Error> {
        self.synced
            .store(self.written.load(Ordering::SeqCst), Ordering::SeqCst);
        Ok(())
    }
}

/// Runs `f` on another thread; fails the test when it has not returned within a minute
/// (a decision that waits for a blocked log would never return).
fn returns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the call did not return: it waited for the audit log")
}

#[test]
fn no_record_is_lost_under_many_threads_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (threads, each) = (8, 150);
    // Room for every record: nothing may be dropped.
    let approvals = Arc::new(on_file(dir.path(), AuditMode::Background, 4096));
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let approvals = approvals.clone();
                s.spawn(move || {
                    let mut ids = Vec::new();
                    for i in 0..each {
                        let n = t * 1000 + i;
                        // Mostly allows; every tenth opens a challenge (durable records
                        // in the same chain), every 25th does not bind.
                        if i % 25 == 24 {
                            assert!(matches!(
                                approvals.decide("{\"action\":"),
                                Err(Error::Request(_))
                            ));
                            continue;
                        }
                        let text = if i % 10 == 9 { write(n) } else { read(n) };
                        ids.push(approvals.decide(&text).unwrap().decision_id);
                    }
                    ids
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let stats = approvals.audit_stats().unwrap();
    drop(approvals);
    assert_eq!(stats.dropped, 0);
    let state = dir.path().join("state");
    let all = records(&state);
    let logged: Vec<&str> = all
        .iter()
        .filter(|r| r["event"] == "decision")
        .map(|r| r["decision_id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = logged.iter().copied().collect();
    assert_eq!(logged.len(), ids.len(), "every decision once");
    assert_eq!(unique, ids.iter().map(String::as_str).collect());
    let opened = all
        .iter()
        .filter(|r| r["event"] == "challenge.opened")
        .count();
    let writes = (0..each).filter(|i| i % 10 == 9 && i % 25 != 24).count();
    assert_eq!(opened, threads * writes);
    // Refused inputs are bounded per minute, not lost: at most the bound was recorded.
    let refused = all.iter().filter(|r| r["event"] == "input.refused").count();
    assert!(refused >= 1 && refused <= writ_approvals::REFUSED_INPUTS_PER_MINUTE as usize);
    // A challenge's decision record comes before the challenge it opened.
    for r in all.iter().filter(|r| r["event"] == "challenge.opened") {
        let id = &r["decision_id"];
        let at = |event: &str| {
            all.iter()
                .position(|x| x["event"] == event && &x["decision_id"] == id)
                .unwrap()
        };
        assert!(at("decision") < at("challenge.opened"));
    }
    assert_eq!(verified(&state), all.len());
}

#[test]
fn a_full_queue_drops_and_counts_and_no_decision_waits() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, entered, release) = Memory::gated();
    let approvals = Arc::new(on_sink(dir.path(), sink.clone(), AuditMode::Background, 2));
    // The first record reaches the sink, which blocks; the queue then holds two.
    approvals.decide(&read(0)).unwrap();
    entered.recv().unwrap();
    let decided = returns({
        let approvals = approvals.clone();
        move || {
            (1..10)
                .map(|n| approvals.decide(&read(n)).map(|d| d.decision_id))
                .collect::<Vec<_>>()
        }
    });
    assert!(decided.iter().all(Result::is_ok), "{decided:?}");
    assert_eq!(approvals.audit_stats().unwrap().dropped, 7);
    release.send(()).unwrap();
    approvals.flush().unwrap();
    assert_eq!(
        sink.events(),
        ["decision", "decision", "decision", "audit.dropped"]
    );
    let all = sink.all();
    assert_eq!(all[3]["count"], 7);
    assert_eq!(all[3]["queue"], 2);
    let stats = approvals.audit_stats().unwrap();
    assert_eq!((stats.written, stats.dropped, stats.failed), (4, 7, 0));
}

#[test]
fn a_security_record_waits_for_room_and_is_written_before_its_call_returns() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = on_file(dir.path(), AuditMode::Background, 4096);
    let d = approvals.decide(&write(1)).unwrap();
    let challenge = d.challenge.unwrap();
    // No flush: the challenge's record, and the decision record queued before it, are
    // in the file when `decide` returns.
    let all = records(&dir.path().join("state"));
    let events: Vec<&str> = all.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["decision", "challenge.opened"]);
    assert_eq!(all[1]["challenge"], challenge.id.as_str());
}

#[test]
fn in_group_mode_a_decision_returns_once_its_record_is_synced() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(Memory::default());
    let approvals = on_sink(dir.path(), sink.clone(), AuditMode::Group, 64);
    for n in 0..5 {
        let d = approvals.decide(&read(n)).unwrap();
        let all = sink.all();
        assert_eq!(all.len(), n + 1);
        assert_eq!(all[n]["decision_id"], d.decision_id.as_str());
        assert_eq!(
            sink.synced.load(Ordering::SeqCst),
            n + 1,
            "synced before returning"
        );
    }
    // And on the file: on disk without a flush.
    let other = tempfile::tempdir().unwrap();
    let on_disk = on_file(other.path(), AuditMode::Group, 64);
    let d = on_disk.decide(&read(7)).unwrap();
    let all = records(&other.path().join("state"));
    assert_eq!(all.last().unwrap()["decision_id"], d.decision_id.as_str());
}

#[test]
fn concurrent_decisions_in_group_mode_share_one_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (sink, entered, release) = Memory::gated();
    let approvals = Arc::new(on_sink(dir.path(), sink.clone(), AuditMode::Group, 64));
    let waiters = 6;
    std::thread::scope(|s| {
        let first = s.spawn({
            let approvals = approvals.clone();
            move || approvals.decide(&read(0)).unwrap()
        });
        entered.recv().unwrap();
        let rest: Vec<_> = (1..=waiters)
            .map(|n| {
                let approvals = approvals.clone();
                s.spawn(move || approvals.decide(&read(n)).unwrap())
            })
            .collect();
        // Every one of them is queued behind the blocked batch before it is let go.
        let deadline = Instant::now() + Duration::from_secs(60);
        while approvals.audit_stats().unwrap().waiting < waiters as u64 + 1 {
            assert!(Instant::now() < deadline, "the deciders never queued");
            std::thread::yield_now();
        }
        release.send(()).unwrap();
        first.join().unwrap();
        for r in rest {
            r.join().unwrap();
        }
    });
    let sizes: Vec<usize> = sink.batches.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [1, waiters], "the waiting decisions share one batch");
    let stats = approvals.audit_stats().unwrap();
    assert_eq!((stats.batches, stats.written, stats.waiting), (2, 7, 0));
}

#[test]
fn dropping_the_service_without_a_flush_writes_everything_queued() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = on_file(dir.path(), AuditMode::Background, 4096);
    let ids: Vec<String> = (0..300)
        .map(|n| approvals.decide(&read(n)).unwrap().decision_id)
        .collect();
    drop(approvals);
    let state = dir.path().join("state");
    let logged: Vec<String> = records(&state)
        .iter()
        .map(|r| r["decision_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(logged, ids);
    assert_eq!(verified(&state), 300);
    // The next process continues the chain.
    let again = on_file(dir.path(), AuditMode::Background, 4096);
    again.decide(&read(1)).unwrap();
    drop(again);
    assert_eq!(verified(&state), 301);
}

#[test]
fn a_failing_sink_fails_decisions_closed_until_it_writes_again() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(Memory::default());
    let approvals = on_sink(dir.path(), sink.clone(), AuditMode::Background, 64);
    sink.broken.store(true, Ordering::SeqCst);
    // Queued before anyone knew (or just after the writer found out): its record is lost
    // and counted either way.
    match approvals.decide(&read(0)) {
        Ok(_) | Err(Error::Audit(_)) => {}
        Err(e) => panic!("{e}"),
    }
    let e = approvals.flush().unwrap_err();
    assert!(e.to_string().contains("the disk is full"), "{e}");
    // Now known: a decision is refused rather than left unrecorded.
    let e = approvals.decide(&read(1)).unwrap_err();
    assert!(matches!(e, Error::Audit(_)), "{e}");
    // A security record fails with the sink's own error.
    let e = approvals.decide(&write(2)).unwrap_err();
    assert!(e.to_string().contains("the disk is full"), "{e}");
    sink.broken.store(false, Ordering::SeqCst);
    approvals.flush().unwrap();
    approvals.decide(&read(3)).unwrap();
    approvals.flush().unwrap();
    // Lost, and said so first: the first decision record, the refused one, and the
    // `approve` decision record written with the failed challenge record.
    assert_eq!(sink.events(), ["audit.dropped", "decision"]);
    assert_eq!(sink.all()[0]["count"], 3);
    let stats = approvals.audit_stats().unwrap();
    assert_eq!(stats.dropped, 3);
    assert!(stats.failed >= 2);
}

#[test]
fn the_file_log_is_one_sink_among_others() {
    // A sink is a trait object; the file writer is one, usable alone.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log: Arc<dyn AuditSink> = Arc::new(AuditLog::open(&path, false).unwrap());
    log.write(vec![
        Stamped::new(
            writ_approvals::audit::Entry::new("one"),
            "2026-12-04T00:00:00Z",
        ),
        Stamped::new(
            writ_approvals::audit::Entry::new("two"),
            "2026-12-04T00:00:00Z",
        ),
    ])
    .unwrap();
    log.sync().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        writ_approvals::audit::verify_text(&text).unwrap().records,
        2
    );
}
