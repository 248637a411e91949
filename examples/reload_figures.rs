//! Measures hot reload: change-to-live latency (file written → new version answering)
//! and decision latency during continuous reloads vs steady state, on a copy of the
//! bundled production-database policies.
//!
//! Run: `cargo run --release --example reload_figures`

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len().saturating_sub(1)) as f64 * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

/// Times single decisions (each on the version current at that moment) until `stop`.
fn decide_loop(store: Arc<writ::PolicyStore>, request: String, stop: Arc<AtomicBool>) -> Vec<f64> {
    let mut samples = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let engine = store.engine();
        if let Ok(req) = engine.bind_str(&request) {
            std::hint::black_box(engine.decide(&req));
        }
        samples.push(t.elapsed().as_nanos() as f64);
    }
    samples
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("writ-reload-figures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    for f in ["access.writ", "risk.writ"] {
        std::fs::copy(root.join("policies/prod-database").join(f), dir.join(f))?;
    }
    let request = std::fs::read_to_string(
        root.join("policies/prod-database/requests/break-glass-write.json"),
    )?;
    let request = serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&request)?)?;
    let store = Arc::new(writ::PolicyStore::open(&dir, writ::StoreConfig::default())?);
    let (tx, rx) = mpsc::channel();
    let _watch = writ::watch(store.clone(), writ::WatchConfig::default(), move |e| {
        let _ = tx.send(e);
    })?;

    // Warm up (discarded), then steady state.
    let stop = Arc::new(AtomicBool::new(false));
    let warm = {
        let (s, r, st) = (store.clone(), request.clone(), stop.clone());
        std::thread::spawn(move || decide_loop(s, r, st))
    };
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    warm.join().map_err(|_| "decider panicked")?;
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (s, r, st) = (store.clone(), request.clone(), stop.clone());
        std::thread::spawn(move || decide_loop(s, r, st))
    };
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let mut steady = worker.join().map_err(|_| "decider panicked")?;

    // Continuous reloads: rewrite a file, wait for its version to go live, again.
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (s, r, st) = (store.clone(), request.clone(), stop.clone());
        std::thread::spawn(move || decide_loop(s, r, st))
    };
    let base = std::fs::read_to_string(dir.join("access.writ"))?;
    let mut live_ms = Vec::new();
    let rounds = 100;
    for i in 0..rounds {
        let written = Instant::now();
        std::fs::write(dir.join("access.writ"), format!("{base}\n# revision {i}\n"))?;
        loop {
            match rx.recv_timeout(Duration::from_secs(10))? {
                writ::ReloadEvent::Loaded { .. } => break,
                _ => continue,
            }
        }
        live_ms.push(written.elapsed().as_secs_f64() * 1000.0);
    }
    stop.store(true, Ordering::Relaxed);
    let mut reloading = worker.join().map_err(|_| "decider panicked")?;
    let stats = store.stats();

    let (sm, s99) = (percentile(&mut steady, 0.5), percentile(&mut steady, 0.99));
    let (rm, r99) = (
        percentile(&mut reloading, 0.5),
        percentile(&mut reloading, 0.99),
    );
    let summary = serde_json::json!({
        "reloads": rounds,
        "loaded": stats.loaded,
        "change_to_live_ms": {"median": percentile(&mut live_ms, 0.5), "p99": percentile(&mut live_ms, 0.99)},
        "watcher_event_to_live_ms": {
            "median": percentile(&mut stats.change_to_live_ms.clone(), 0.5),
            "p99": percentile(&mut stats.change_to_live_ms.clone(), 0.99)
        },
        "decision_ns_steady": {"median": sm, "p99": s99, "samples": steady.len()},
        "decision_ns_during_reloads": {"median": rm, "p99": r99, "samples": reloading.len()},
        "p99_ratio": r99 / s99,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
