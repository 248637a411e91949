//! Times decisions the way `writ bench` does (batches of 16, median and p99 per
//! decision, request already bound), split by verdict, so that an `approve` (which pays
//! the transaction digest) is measured apart from an `allow`.
//!
//! Run: `cargo run --release --example full_style_workload -- /tmp/full`, then
//! `cargo run --release --example decision_figures -- /tmp/full /tmp/full/requests.jsonl`
//! (any policy directory and JSON-lines file of requests will do).

use std::hint::black_box;
use std::time::{Duration, Instant};

const BATCH: u32 = 16;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn time(engine: &writ::Engine, requests: &[&writ::Request], millis: u64) -> (f64, f64) {
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(millis);
    while Instant::now() < deadline || samples.len() < requests.len() {
        for r in requests {
            let t = Instant::now();
            for _ in 0..BATCH {
                black_box(engine.decide(black_box(r)));
            }
            samples.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
        }
    }
    samples.sort_by(f64::total_cmp);
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: decision_figures DIR REQUESTS.jsonl [MILLIS]")?;
    let file = args
        .next()
        .ok_or("usage: decision_figures DIR REQUESTS.jsonl [MILLIS]")?;
    let millis: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let engine = writ::load(&dir)?;
    let text = std::fs::read_to_string(&file)?;
    let bound: Vec<writ::Request> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| engine.bind_str(l))
        .collect::<Result<_, _>>()?;
    let all: Vec<&writ::Request> = bound.iter().collect();
    let (median, p99) = time(&engine, &all, millis);
    println!(
        "all:     {} requests, median {median:.0} ns, p99 {p99:.0} ns",
        all.len()
    );
    for verdict in [
        writ::Verdict::Allow,
        writ::Verdict::Approve,
        writ::Verdict::Deny,
    ] {
        let some: Vec<&writ::Request> = bound
            .iter()
            .filter(|r| engine.decide(r).decision == verdict)
            .collect();
        if some.is_empty() {
            continue;
        }
        let (median, p99) = time(&engine, &some, millis);
        println!(
            "{:<8} {} requests, median {median:.0} ns, p99 {p99:.0} ns",
            format!("{}:", verdict.as_str()),
            some.len()
        );
    }
    Ok(())
}
