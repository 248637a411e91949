//! Throughput across threads: decisions per second with 1, 2, 4, … threads (up to
//! `WRIT_BENCH_THREADS`, default: the machine's cores) deciding at once on one policy set,
//! full style at 1,000 permits, each way a service may reach the engine:
//!
//! - `&Engine`: one shared reference, requests bound beforehand (the ceiling);
//! - `store.current()`: the store's guard per decision (no shared write);
//! - `store.engine()`: an `Arc` cloned per decision (every thread writes one count);
//! - `bind_str + decide`: from JSON text, through the guard.
//!
//! Each row prints decisions/s and the efficiency per thread (decisions/s ÷ threads ÷ the
//! one-thread figure; 1.00 is linear). Run: `cargo bench --bench scaling`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MEASURE: Duration = Duration::from_millis(1500);

/// One decision by thread `t` on request `i`.
type One<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Decisions per second with `threads` threads running `one(thread, i)` until time is up.
fn rate(threads: usize, one: One<'_>) -> f64 {
    let stop = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (stop, total) = (&stop, &total);
            s.spawn(move || {
                let mut n = 0u64;
                let mut i = t * 7919;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..64 {
                        one(t, i);
                        i += 1;
                    }
                    n += 64;
                }
                total.fetch_add(n, Ordering::Relaxed);
            });
        }
        std::thread::sleep(MEASURE);
        stop.store(true, Ordering::Relaxed);
    });
    total.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; there is nothing to list.
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max: usize = std::env::var("WRIT_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cores);
    let set = writ_gensets::full_style::full_style(11, 1000, 4000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("full.writ"), &set.policy).unwrap();
    let store = writ::PolicyStore::open(dir.path(), writ::StoreConfig::default()).unwrap();
    let engine = store.engine();
    let texts: Vec<String> = set.requests.iter().map(|r| r.to_string()).collect();
    let bound: Vec<writ::Request> = texts.iter().map(|t| engine.bind_str(t).unwrap()).collect();
    let n = bound.len();

    let ways: [(&str, One<'_>); 4] = [
        ("&Engine", &|_, i| {
            black_box(engine.decide(black_box(&bound[i % n])));
        }),
        ("store.current()", &|_, i| {
            black_box(store.current().decide(black_box(&bound[i % n])));
        }),
        ("store.engine()", &|_, i| {
            black_box(store.engine().decide(black_box(&bound[i % n])));
        }),
        ("bind_str + decide", &|_, i| {
            let e = store.current();
            black_box(e.decide(&e.bind_str(black_box(&texts[i % n])).unwrap()));
        }),
    ];
    let mut counts = vec![1];
    while counts.last().is_some_and(|&c| c * 2 <= max) {
        counts.push(counts.last().unwrap() * 2);
    }
    if counts.last() != Some(&max) {
        counts.push(max);
    }
    println!("full style, 1,000 permits, {n} requests; {cores} cores; {MEASURE:?} per figure");
    println!(
        "{:<20} {:>8} {:>14} {:>12}",
        "way", "threads", "decisions/s", "per thread"
    );
    for (name, one) in ways {
        let single = rate(1, one);
        for &t in &counts {
            let r = if t == 1 { single } else { rate(t, one) };
            println!(
                "{name:<20} {t:>8} {r:>14.0} {:>12.2}",
                r / t as f64 / single
            );
        }
    }
}
