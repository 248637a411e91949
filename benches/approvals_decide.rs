//! What the approval flow adds to an allow, in one run: the engine's bind + decide of a
//! request, and `Approvals::decide` of the same request — without an audit log, with the
//! audit in the background (the default) and in group mode — on a state directory in a
//! temporary directory, with `policies/prod-database` (a staging read from a home laptop:
//! allowed, risk 100, every risk signal evaluated). Then the same with several threads
//! deciding at once, and what the audit writer can sustain (a batch of 512 signed records,
//! one write and one fsync).
//!
//! `cargo bench --bench approvals_decide`; `WRIT_BENCH_THREADS=16 cargo bench --bench
//! approvals_decide -- threads` for the concurrent figures with 16 threads (2 by default).
//! After the run, each service's audit statistics (records written, dropped) are printed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "a bench fails loudly; criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use writ::approvals::audit::Entry;
use writ::approvals::{
    Approvals, AuditConfig, AuditLog, AuditMode, AuditSink, Config, GrantKey, KeyPair, RedbStore,
    Stamped,
};
use writ::{PolicyStore, StoreConfig};

/// Distinct principals the requests cycle through.
const PRINCIPALS: usize = 512;

fn policy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/prod-database")
}

/// The allowed request, for principal `n`: a staging read (non-prod reads ignore risk), no
/// `time` (the flow decides at its clock).
fn requests() -> Vec<String> {
    let text =
        std::fs::read_to_string(policy_dir().join("requests/read-from-home-laptop.json")).unwrap();
    let base: serde_json::Value = serde_json::from_str(&text).unwrap();
    (0..PRINCIPALS)
        .map(|n| {
            let mut r = base.clone();
            r["principal"]["id"] = format!("user-{n}@example.com").into();
            r["resource"]["env"] = "staging".into();
            r.as_object_mut().unwrap().remove("time");
            r.to_string()
        })
        .collect()
}

fn threads() -> usize {
    std::env::var("WRIT_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2)
}

struct Services {
    _dir: tempfile::TempDir,
    store: Arc<PolicyStore>,
    bare: Approvals,
    background: Approvals,
    group: Approvals,
    /// Background mode over a sink that keeps nothing: the queue's own cost, without the
    /// writer's signing competing for the CPU.
    null: Approvals,
}

struct NullSink;

impl AuditSink for NullSink {
    fn write(&self, batch: Vec<Stamped>) -> Result<(), writ::approvals::Error> {
        black_box(batch);
        Ok(())
    }

    fn sync(&self) -> Result<(), writ::approvals::Error> {
        Ok(())
    }
}

fn config(mode: AuditMode) -> Config {
    Config {
        audit: AuditConfig {
            mode,
            ..AuditConfig::default()
        },
        ..Config::default()
    }
}

fn services() -> Services {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(PolicyStore::open(policy_dir(), StoreConfig::default()).unwrap());
    let open = |name: &str, mode| {
        Approvals::with_state_dir(store.clone(), &dir.path().join(name), config(mode)).unwrap()
    };
    let background = open("background", AuditMode::Background);
    let group = open("group", AuditMode::Group);
    let without = |name: &str, sink: Option<Arc<dyn AuditSink>>| {
        let state = dir.path().join(name);
        Approvals::new(
            store.clone(),
            Arc::new(RedbStore::open(&state).unwrap()),
            GrantKey::load_or_create(&state.join("grant.key")).unwrap(),
            sink,
            Config::default(),
        )
        .unwrap()
    };
    let bare = without("bare", None);
    let null = without("null", Some(Arc::new(NullSink)));
    Services {
        _dir: dir,
        store,
        bare,
        background,
        group,
        null,
    }
}

/// Every path allows every request before anything is timed.
fn check(s: &Services, requests: &[String]) {
    let engine = s.store.engine();
    for r in requests {
        let d = engine.decide(&engine.bind_str(r).unwrap());
        assert_eq!(d.decision.as_str(), "allow", "{r}");
        for a in [&s.bare, &s.background, &s.group, &s.null] {
            assert_eq!(a.decide(r).unwrap().decision.decision.as_str(), "allow");
        }
    }
}

/// `iters` decisions on each of `n` threads, started together; the wall time.
fn on_threads(
    n: usize,
    iters: u64,
    requests: &[String],
    decide: &(dyn Fn(&str) + Sync),
) -> Duration {
    let barrier = Barrier::new(n + 1);
    std::thread::scope(|scope| {
        for t in 0..n {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                for i in 0..iters {
                    let k = (i as usize).wrapping_mul(7).wrapping_add(t * 61) % requests.len();
                    decide(&requests[k]);
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
}

/// One decision through the flow.
fn flow(a: &Approvals) -> impl Fn(&str) + Sync + '_ {
    move |r: &str| {
        black_box(a.decide(r).unwrap());
    }
}

fn bench(c: &mut Criterion) {
    let requests = requests();
    let s = services();
    check(&s, &requests);
    let engine_decide = |r: &str| {
        let engine = s.store.engine();
        let req = engine.bind_str(r).unwrap();
        black_box(engine.decide(&req));
    };

    let mut g = c.benchmark_group("allow");
    let mut k = 0usize;
    let mut next = || {
        k = (k + 1) % requests.len();
        &requests[k]
    };
    g.bench_function("engine_bind_decide", |b| b.iter(|| engine_decide(next())));
    g.bench_function("approvals_decide_no_audit", |b| {
        b.iter(|| flow(&s.bare)(next()))
    });
    g.bench_function("approvals_decide_background", |b| {
        b.iter(|| flow(&s.background)(next()))
    });
    s.background.flush().unwrap();
    g.bench_function("approvals_decide_background_null_sink", |b| {
        b.iter(|| flow(&s.null)(next()))
    });
    g.bench_function("approvals_decide_group", |b| {
        b.iter(|| flow(&s.group)(next()))
    });
    g.finish();

    // Each thread decides `iters` times; criterion divides the wall time by `iters`, so a
    // figure equal to the single-threaded one is linear scaling.
    let n = threads();
    let mut g = c.benchmark_group(format!("threads_{n}"));
    g.bench_function("engine_bind_decide", |b| {
        b.iter_custom(|iters| on_threads(n, iters, &requests, &engine_decide))
    });
    g.bench_function("approvals_decide_background", |b| {
        b.iter_custom(|iters| on_threads(n, iters, &requests, &flow(&s.background)))
    });
    s.background.flush().unwrap();
    g.bench_function("approvals_decide_group", |b| {
        b.iter_custom(|iters| on_threads(n, iters, &requests, &flow(&s.group)))
    });
    g.finish();

    // What the writer sustains: one batch of 512 decision records, signed, chained,
    // written once and synced once.
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(&dir.path().join("audit.jsonl"), false)
        .unwrap()
        .signed(KeyPair::generate().unwrap());
    let record = || {
        Stamped::new(
            Entry::new("decision")
                .with("decision_id", "d_KD5gYXvxVq83TkbZt5rbvg")
                .with("policy_version", "a20f1708cae83a348d3e4059")
                .with("decision", "allow")
                .with("principal", "user-17@example.com")
                .with("action", "db.read")
                .with("resource", "pg-prod-eu1/customers")
                .with("digest", serde_json::Value::Null)
                .with("rules", serde_json::json!(["engineers read non-prod"]))
                .with("risk", 100),
            "2026-12-04T10:15:00Z",
        )
    };
    let mut g = c.benchmark_group("audit_writer");
    g.sample_size(20);
    g.bench_function("batch_512_signed_write_fsync", |b| {
        b.iter_batched(
            || (0..512).map(|_| record()).collect::<Vec<_>>(),
            |batch| {
                log.append_all(batch).unwrap();
                log.sync().unwrap();
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();

    for (name, a) in [
        ("background", &s.background),
        ("background, null sink", &s.null),
        ("group", &s.group),
    ] {
        a.flush().unwrap();
        let st = a.audit_stats().unwrap();
        let total = st.written + st.dropped;
        println!(
            "audit {name}: {} records written in {} batches ({:.1} per batch), {} dropped ({:.1}% of {total})",
            st.written,
            st.batches,
            st.written as f64 / st.batches.max(1) as f64,
            st.dropped,
            100.0 * st.dropped as f64 / total.max(1) as f64,
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
