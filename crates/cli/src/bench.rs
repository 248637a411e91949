//! `writ bench DIR --requests FILE.jsonl`: decision latency on the user's own policies.
//!
//! Binding and deciding are each timed in rounds over all requests, batches of 16 per
//! request so clock overhead is amortised. Decision figures are per
//! decision, request already bound, the decision borrowed from the engine
//! (`Engine::decide_ref`, what a service on the hot path calls; `decide` copies it out
//! on top); `rules_tried_mean` is how many rules a decision tries
//! on average (those the request's action reaches, less those the tree below the action
//! rules out).

use crate::exit::Exit;
use crate::output::outln;
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
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut requests = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match engine.bind_str(line) {
            Ok(r) => requests.push(r),
            Err(e) => {
                eprintln!("error: request {}: {e}", i + 1);
                return Ok(ExitCode::from(Exit::Invalid));
            }
        }
    }
    // Binding (JSON text → typed request), timed like decisions: batches per request,
    // rounds over all requests, for a fifth of the measuring time.
    let mut bind_ns = Vec::new();
    let bind_deadline = Instant::now() + Duration::from_millis(args.millis / 5);
    while Instant::now() < bind_deadline || bind_ns.len() < lines.len() {
        for line in &lines {
            let t = Instant::now();
            for _ in 0..BATCH {
                let _ = black_box(engine.bind_str(black_box(line)));
            }
            bind_ns.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
        }
    }
    if requests.is_empty() {
        eprintln!("error: no requests in `{}`", args.requests.display());
        return Ok(ExitCode::from(Exit::Invalid));
    }
    // Warm up.
    for r in &requests {
        black_box(engine.decide_ref(r));
    }
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(args.millis);
    let mut decisions: u64 = 0;
    while Instant::now() < deadline || samples.len() < requests.len() {
        for r in &requests {
            let t = Instant::now();
            for _ in 0..BATCH {
                black_box(engine.decide_ref(black_box(r)));
            }
            samples.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
            decisions += u64::from(BATCH);
        }
    }
    let mean = samples.iter().sum::<f64>() / samples.len().max(1) as f64;
    samples.sort_by(f64::total_cmp);
    bind_ns.sort_by(f64::total_cmp);
    // How many rules a decision tries (those its action reaches, less those the tree
    // rules out), on average over the requests.
    let tried: usize = requests.iter().map(|r| engine.rules_tried(r)).sum();
    let summary = serde_json::json!({
        "decisions": decisions,
        "requests": requests.len(),
        "rules": engine.policy_set().rules.len(),
        "median_ns": percentile(&samples, 0.5).round(),
        "p99_ns": percentile(&samples, 0.99).round(),
        "mean_ns": mean.round(),
        "decisions_per_s": if mean > 0.0 { (1e9 / mean).round() } else { 0.0 },
        "rules_tried_mean": (tried as f64 / requests.len() as f64 * 10.0).round() / 10.0,
        "bind_median_ns": percentile(&bind_ns, 0.5).round(),
        "policy_version": engine.version(),
    });
    outln!("{}", serde_json::to_string_pretty(&summary)?)?;
    Ok(ExitCode::from(Exit::Ok))
}
