//! `writ bench DIR --requests FILE.jsonl`: decision latency on the user's own policies.
//!
//! Every request is bound once (timed: `bind_median_ns`); then rounds over all requests
//! time batches of decisions per request, so clock overhead is amortised. Figures are per
//! decision, request already bound.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::load::{engine, read_input};

/// Arguments of `writ bench`.
#[derive(clap::Args)]
pub struct Args {
    /// The policy set.
    pub dir: PathBuf,
    /// A JSON Lines file of requests.
    #[arg(long)]
    pub requests: PathBuf,
    /// Minimum measuring time, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub millis: u64,
}

const BATCH: u32 = 16;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Prints a JSON summary.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let engine = match engine(&args.dir) {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let text = read_input(&args.requests)?;
    let mut requests = Vec::new();
    let mut bind_ns = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        // Time the binding a few times and keep the median of those, per request.
        let mut samples = Vec::with_capacity(5);
        let mut bound = None;
        for _ in 0..5 {
            let t = Instant::now();
            let r = engine.bind_str(black_box(line));
            samples.push(t.elapsed().as_nanos() as f64);
            bound = Some(r);
        }
        samples.sort_by(f64::total_cmp);
        bind_ns.push(samples[2]);
        match bound {
            Some(Ok(r)) => requests.push(r),
            Some(Err(e)) => {
                eprintln!("error: line {}: {e}", i + 1);
                return Ok(ExitCode::from(1));
            }
            None => {}
        }
    }
    if requests.is_empty() {
        eprintln!("error: no requests in `{}`", args.requests.display());
        return Ok(ExitCode::from(1));
    }
    // Warm up.
    for r in &requests {
        black_box(engine.decide(r));
    }
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(args.millis);
    let mut decisions: u64 = 0;
    while Instant::now() < deadline || samples.len() < requests.len() {
        for r in &requests {
            let t = Instant::now();
            for _ in 0..BATCH {
                black_box(engine.decide(black_box(r)));
            }
            samples.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
            decisions += u64::from(BATCH);
        }
    }
    samples.sort_by(f64::total_cmp);
    bind_ns.sort_by(f64::total_cmp);
    let summary = serde_json::json!({
        "decisions": decisions,
        "requests": requests.len(),
        "rules": engine.policy_set().rules.len(),
        "median_ns": percentile(&samples, 0.5).round(),
        "p99_ns": percentile(&samples, 0.99).round(),
        "bind_median_ns": percentile(&bind_ns, 0.5).round(),
        "policy_version": engine.version(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}
