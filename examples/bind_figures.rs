//! Figures for the way from a request to a decision, on the generated workload the
//! benchmarks use (1,000 rules, the same seed): JSON text → bound request → decision
//! (`bind_str`), the typed builder, `decide_batch`, and two JSON parsers over the same
//! texts as the physical reference (serde_json building a value, and only checking).
//! With `compile`, also the time to compile 10,000 rules (3.5 MB).
//!
//! Run: `cargo run --release --example bind_figures [compile]`
//!
//! Each figure is the median of 15 rounds over all 10,000 requests, per request. For a
//! profiler or callgrind: `BIND_ONLY=N` only binds the requests N times,
//! `COMPILE_ONLY=N` only compiles the 10,000 rules N times.

use std::hint::black_box;
use std::time::Instant;

use writ_gensets::Workload;

const SEED: u64 = 0x5eed_2026;
const REQUESTS: usize = 10_000;

/// The median over rounds of the time per item, in nanoseconds.
fn per_item(items: usize, mut round: impl FnMut()) -> f64 {
    round();
    let mut times: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            round();
            t.elapsed().as_nanos() as f64 / items as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("COMPILE_ONLY").is_some() {
        let text = Workload::generate(SEED, 10_000, 1).writ_policy();
        let rounds: usize = std::env::var("COMPILE_ONLY")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(3);
        for _ in 0..rounds {
            let t = Instant::now();
            black_box(writ::from_sources(&[("workload.writ", text.as_str())]).ok());
            println!("compile: {:?}", t.elapsed());
        }
        return Ok(());
    }
    let w = Workload::generate(SEED, 1000, REQUESTS);
    let engine = writ::from_sources(&[("workload.writ", w.writ_policy().as_str())])?;
    let texts: Vec<String> = w
        .requests
        .iter()
        .map(|r| r.writ_json().to_string())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mean = bytes as f64 / texts.len() as f64;
    println!("1,000 rules, {REQUESTS} requests of {mean:.0} bytes on average");

    let bound: Vec<writ::Request> = texts
        .iter()
        .map(|t| engine.bind_str(t))
        .collect::<Result<_, _>>()?;
    // The builder's requests decide as the texts do.
    for (r, b) in w.requests.iter().zip(&bound) {
        let built = r.writ_builder(&engine).build()?;
        assert_eq!(engine.decide(&built), engine.decide(b), "{r:?}");
    }
    assert_eq!(
        engine.decide_batch(&bound),
        bound.iter().map(|r| engine.decide(r)).collect::<Vec<_>>()
    );

    let n = texts.len();
    if std::env::var_os("BIND_ONLY").is_some() {
        let rounds: usize = std::env::var("BIND_ONLY")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(100);
        for _ in 0..rounds {
            for t in &texts {
                black_box(engine.bind_str(t).ok());
            }
        }
        return Ok(());
    }
    let serde_value = per_item(n, || {
        for t in &texts {
            black_box(serde_json::from_str::<serde_json::Value>(t).ok());
        }
    });
    let serde_check = per_item(n, || {
        for t in &texts {
            black_box(serde_json::from_str::<serde::de::IgnoredAny>(t).ok());
        }
    });
    let bind = per_item(n, || {
        for t in &texts {
            black_box(engine.bind_str(t).ok());
        }
    });
    let text_to_decision = per_item(n, || {
        for t in &texts {
            if let Ok(req) = engine.bind_str(t) {
                black_box(engine.decide(&req).decision);
            }
        }
    });
    let decide = per_item(n, || {
        for r in &bound {
            black_box(engine.decide(r).decision);
        }
    });
    let built = per_item(n, || {
        for r in &w.requests {
            if let Ok(req) = r.writ_builder(&engine).build() {
                black_box(engine.decide(&req).decision);
            }
        }
    });
    let batch = per_item(n, || {
        black_box(engine.decide_batch(&bound));
    });
    let rate = |ns: f64| mean / ns * 1e3;
    println!(
        "serde_json → Value          {serde_value:7.0} ns  ({:.0} MB/s)",
        rate(serde_value)
    );
    println!(
        "serde_json, check only      {serde_check:7.0} ns  ({:.0} MB/s)",
        rate(serde_check)
    );
    println!(
        "writ bind_str               {bind:7.0} ns  ({:.0} MB/s)",
        rate(bind)
    );
    println!("writ bind_str + decide      {text_to_decision:7.0} ns");
    println!("writ decide (bound)         {decide:7.0} ns");
    println!("writ builder + decide       {built:7.0} ns");
    println!("writ decide_batch, per req  {batch:7.0} ns");

    if std::env::args().any(|a| a == "compile") {
        let w = Workload::generate(SEED, 10_000, 1);
        let text = w.writ_policy();
        let ms = per_item(1, || {
            black_box(writ::from_sources(&[("workload.writ", text.as_str())]).ok());
        }) / 1e6;
        println!("compile 10,000 rules ({} bytes)  {ms:.0} ms", text.len());
    }
    Ok(())
}
