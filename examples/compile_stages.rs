//! Compiles the generated benchmark set (the one `cargo bench --bench decide -- compile/`
//! times) stage by stage — parse, check (which parses again), compile — and prints the time
//! of each, for profilers: each stage runs in a function of its own (`stage_parse`,
//! `stage_check`, `stage_compile`), so callgrind's `--toggle-collect` can count one alone.
//!
//! Run: `cargo run --release --example compile_stages -- [rules] [rounds] [parse|check|compile|all]`
//! (defaults: 10,000 rules, 5 rounds, all stages). `taskset -c 0` shows the single-core cost.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The benchmark's seed and request count (`benches/decide.rs`), so the text is the same.
const SEED: u64 = 0x5eed_2026;
const REQUESTS: usize = 10_000;

/// Parses the text alone.
#[inline(never)]
fn stage_parse(text: &str) -> usize {
    match writ_syntax::parse_file(writ_syntax::FileId(0), text) {
        Ok(f) => f.items.len(),
        Err(e) => e.len(),
    }
}

/// Parses and checks the text: the typed policy set.
#[inline(never)]
fn stage_check(text: &str) -> Result<writ::PolicySet, writ::Rejected> {
    let mut sources = writ::SourceMap::default();
    sources.add("workload.writ", text);
    writ::check(sources)
}

/// Compiles a checked set into an engine.
#[inline(never)]
fn stage_compile(set: writ::PolicySet) -> writ::Engine {
    writ::Engine::new(set)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rules: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let which = args.next().unwrap_or_else(|| "all".to_string());
    let text = writ_gensets::Workload::generate(SEED, rules, REQUESTS).writ_policy();
    println!("{rules} rules, {} bytes of policy text", text.len());
    let best = |times: &[Duration]| times.iter().min().copied().unwrap_or_default();
    let (mut parse, mut check, mut compile) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        if matches!(which.as_str(), "parse" | "all") {
            let t = Instant::now();
            black_box(stage_parse(black_box(&text)));
            parse.push(t.elapsed());
        }
        if matches!(which.as_str(), "check" | "compile" | "all") {
            let t = Instant::now();
            let set = stage_check(black_box(&text)).map_err(|r| r.diagnostics.len().to_string())?;
            check.push(t.elapsed());
            if matches!(which.as_str(), "compile" | "all") {
                let t = Instant::now();
                black_box(stage_compile(set));
                compile.push(t.elapsed());
            }
        }
    }
    for (name, times) in [
        ("parse", &parse),
        ("check (parse included)", &check),
        ("compile", &compile),
    ] {
        if !times.is_empty() {
            println!("{name:>24}: best {:>8.1?} of {}", best(times), times.len());
        }
    }
    Ok(())
}
