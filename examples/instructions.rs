//! Decides the generated benchmark workload in a loop with writ or with the hand-written
//! Rust function, on the same requests, for profilers: `benches/instructions.sh` counts the
//! instructions of the measured loop alone under valgrind (callgrind, `--toggle-collect`),
//! stable where timings are not; perf and friends can sample the same loop. Prints the
//! time per decision too.
//!
//! Run: `cargo run --release --example instructions -- writ|rust [permits] [decisions]`

use std::hint::black_box;

/// writ: `decisions` decisions over requests bound beforehand, round-robin.
#[inline(never)]
fn measured_loop_writ(engine: &writ::Engine, bound: &[writ::Request], decisions: usize) -> usize {
    let mut allowed = 0;
    for i in 0..decisions {
        if engine
            .decide_ref(black_box(&bound[i % bound.len()]))
            .verdict()
            == writ::Verdict::Allow
        {
            allowed += 1;
        }
    }
    allowed
}

/// The hand-written function over the same requests, built beforehand.
#[inline(never)]
fn measured_loop_rust(
    policy: &writ_gensets::RustPolicy,
    reqs: &[writ_gensets::RustRequest],
    decisions: usize,
) -> usize {
    let mut allowed = 0;
    for i in 0..decisions {
        if policy.decide(black_box(&reqs[i % reqs.len()])) {
            allowed += 1;
        }
    }
    allowed
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let which = args
        .next()
        .ok_or("usage: instructions writ|rust [permits] [decisions]")?;
    let permits: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let decisions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    // `REQUESTS=10000` round-robins over as many requests as the criterion bench does.
    let requests: usize = std::env::var("REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let w = writ_gensets::Workload::generate(7, permits, requests);
    let timed = |f: &dyn Fn() -> usize| {
        let started = std::time::Instant::now();
        (f(), started.elapsed())
    };
    let (allowed, took) = match which.as_str() {
        "writ" => {
            let engine = writ::from_sources(&[("workload.writ", w.writ_policy().as_str())])?;
            let bound: Vec<writ::Request> = w
                .requests
                .iter()
                .map(|r| engine.bind(r.writ_json()))
                .collect::<Result<_, _>>()?;
            timed(&|| measured_loop_writ(&engine, &bound, decisions))
        }
        "rust" => {
            let policy = w.rust_policy();
            let reqs: Vec<_> = w.requests.iter().map(|r| r.rust()).collect();
            timed(&|| measured_loop_rust(&policy, &reqs, decisions))
        }
        other => return Err(format!("unknown engine `{other}`: expected `writ` or `rust`").into()),
    };
    let per = took.as_nanos() as f64 / decisions.max(1) as f64;
    println!("{which}: {decisions} decisions, {allowed} allowed, {per:.0} ns per decision");
    Ok(())
}
