//! Decides the generated benchmark workload in a loop, for profilers (callgrind, perf):
//! with writ (the default) or with the hand-written Rust function of the same set, on the
//! same requests, so that instructions per decision can be compared.
//!
//! Run: `cargo run --release --example profile_workload -- [permits] [decisions] [writ|rust]`;
//! `benches/instructions.sh` (valgrind callgrind) prints instructions per decision for both.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let permits: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let decisions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let hand_written = args.next().as_deref() == Some("rust");
    let w = writ_gensets::Workload::generate(7, permits, 1000);
    let engine = writ::from_sources(&[("workload.writ", w.writ_policy().as_str())])?;
    let bound: Vec<writ::Request> = w
        .requests
        .iter()
        .map(|r| engine.bind(r.writ_json()))
        .collect::<Result<_, _>>()?;
    let rust = w.rust_policy();
    let rust_reqs: Vec<_> = w.requests.iter().map(|r| r.rust()).collect();
    let started = std::time::Instant::now();
    let mut allowed = 0usize;
    for i in 0..decisions {
        let allow = if hand_written {
            rust.decide(std::hint::black_box(&rust_reqs[i % rust_reqs.len()]))
        } else {
            engine.decide(&bound[i % bound.len()]).decision == writ::Verdict::Allow
        };
        if allow {
            allowed += 1;
        }
    }
    let per = started.elapsed().as_nanos() as f64 / decisions as f64;
    let which = if hand_written { "hand-written" } else { "writ" };
    println!("{which}: {decisions} decisions, {allowed} allowed, {per:.0} ns per decision");
    Ok(())
}
