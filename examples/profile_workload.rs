//! Decides the generated benchmark workload in a loop, for profilers (callgrind, perf).
//!
//! Run: `cargo run --release --example profile_workload -- [permits] [decisions]`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let permits: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let decisions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let w = writ_workload::Workload::generate(7, permits, 1000);
    let engine = writ::from_sources(&[("workload.writ", w.writ_policy().as_str())])?;
    let bound: Vec<writ::Request> = w
        .requests
        .iter()
        .map(|r| engine.bind(r.writ_json()))
        .collect::<Result<_, _>>()?;
    let started = std::time::Instant::now();
    let mut allowed = 0usize;
    for i in 0..decisions {
        if engine.decide(&bound[i % bound.len()]).decision == writ::Verdict::Allow {
            allowed += 1;
        }
    }
    let per = started.elapsed().as_nanos() as f64 / decisions as f64;
    println!("{decisions} decisions, {allowed} allowed, {per:.0} ns per decision");
    Ok(())
}
