//! Times `writ lint` on a generated set (`writ-gensets`): N permit rules and about 5%
//! forbids. `cargo run -p writ-lint --example lint_scale -- 3000` (add `--release`, or
//! `--config 'profile.dev.package.writ-lint.opt-level=3'` to optimise the lint crate
//! only).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "an example"
)]

use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(3000, |a| a.parse().expect("a rule count"));
    let w = writ_gensets::Workload::generate(0x5eed_2026, n, 0);
    let mut sources = writ_syntax::SourceMap::default();
    sources.add("generated.writ", w.writ_policy());
    let start = Instant::now();
    let set = writ_check::check(sources).unwrap_or_else(|_| panic!("the generated set checks"));
    let checked = start.elapsed().as_secs_f64();
    let config = writ_lint::Config::default();
    let mut best = f64::MAX;
    let mut findings = 0;
    for _ in 0..3 {
        let start = Instant::now();
        findings = writ_lint::lint(&set, &config).len();
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{} rules: parsed and checked in {:.0} ms, linted in {:.0} ms (best of 3), {findings} findings",
        set.rules.len(),
        checked * 1000.0,
        best * 1000.0
    );
}
