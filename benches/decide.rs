//! Decision benchmarks: writ against Cedar (full and pre-sliced by action), regorus (Rego)
//! and a hand-written Rust evaluator, on one generated workload (`writ-workload`) with
//! N = 10, 100, 1000, 10000 permit rules and 10,000 requests.
//!
//! Before anything is timed, every engine must give the same allow/deny on every request;
//! the first disagreement aborts the run. Requests are prepared before timing (writ: bound;
//! Cedar: `Request` and `Entities` built; regorus: input values built) and each timed
//! iteration decides the next request, round-robin, so a measurement is the mean over
//! varied requests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use writ_workload::Workload;

const SEED: u64 = 0x5eed_2026;
const REQUESTS: usize = 10_000;
const SIZES: [usize; 4] = [10, 100, 1000, 10_000];
/// At N = 10000, full Cedar and regorus are skipped (timing and the all-requests agreement
/// check) when one decision takes longer than this.
const SLOW: Duration = Duration::from_millis(5);
/// How many requests a skipped engine is still checked on.
const SPOT_CHECK: usize = 200;

/// One prepared Cedar request.
struct CedarReq {
    action: String,
    request: cedar_policy::Request,
    entities: Entities,
}

fn cedar_requests(w: &Workload) -> Vec<CedarReq> {
    w.requests
        .iter()
        .map(|r| {
            let c = r.cedar();
            CedarReq {
                action: r.action.clone(),
                request: cedar_policy::Request::new(
                    EntityUid::from_str(&c.principal).unwrap(),
                    EntityUid::from_str(&c.action).unwrap(),
                    EntityUid::from_str(&c.resource).unwrap(),
                    Context::from_json_value(c.context, None).unwrap(),
                    None,
                )
                .unwrap(),
                entities: Entities::from_json_value(c.entities, None).unwrap(),
            }
        })
        .collect()
}

/// Cedar with the policies pre-sliced by action (the lookup is part of the decision).
struct CedarSliced {
    by_action: HashMap<String, PolicySet>,
    globals: PolicySet,
}

impl CedarSliced {
    fn new(w: &Workload) -> CedarSliced {
        CedarSliced {
            by_action: w
                .cedar_sliced()
                .into_iter()
                .map(|(a, text)| (a, PolicySet::from_str(&text).unwrap()))
                .collect(),
            globals: PolicySet::from_str(&w.cedar_globals()).unwrap(),
        }
    }

    fn allows(&self, auth: &Authorizer, r: &CedarReq) -> bool {
        let set = self.by_action.get(&r.action).unwrap_or(&self.globals);
        auth.is_authorized(&r.request, set, &r.entities).decision() == Decision::Allow
    }
}

fn cedar_allows(auth: &Authorizer, set: &PolicySet, r: &CedarReq) -> bool {
    auth.is_authorized(&r.request, set, &r.entities).decision() == Decision::Allow
}

fn rego_allows(engine: &mut regorus::Engine, input: &regorus::Value) -> bool {
    engine.set_input(input.clone());
    engine.eval_rule("data.writ.allow".to_string()).unwrap() == regorus::Value::from(true)
}

/// Mean time of one decision over the first few requests (after one warm-up call).
fn time_one(reqs: usize, mut f: impl FnMut(usize) -> bool) -> Duration {
    black_box(f(0));
    let n = reqs.min(20);
    let start = Instant::now();
    for i in 0..n {
        black_box(f(i));
    }
    start.elapsed() / n.max(1) as u32
}

fn disagreement(w: &Workload, i: usize, who: &str, got: bool, writ: bool) -> ! {
    let r = &w.requests[i];
    let rules: Vec<_> = w
        .rules
        .iter()
        .filter(|x| x.action.as_deref().is_none_or(|a| a == r.action))
        .collect();
    panic!(
        "N={}: request {i}: writ says {}, {who} says {}\nrequest: {}\nrules for the action: {rules:#?}\nreference: {}",
        w.permits,
        if writ { "allow" } else { "deny" },
        if got { "allow" } else { "deny" },
        serde_json::to_string_pretty(&r.writ_json()).unwrap(),
        w.expected(r),
    );
}

fn bench(c: &mut Criterion) {
    for &n in &SIZES {
        let w = Workload::generate(SEED, n, REQUESTS);

        // writ
        let writ_text = w.writ_policy();
        let engine = writ::from_sources(&[("workload.writ", writ_text.as_str())])
            .unwrap_or_else(|e| panic!("writ rejects the workload:\n{e}"));
        let bound: Vec<writ::Request> = w
            .requests
            .iter()
            .map(|r| engine.bind(r.writ_json()).unwrap())
            .collect();
        let writ_says: Vec<bool> = bound
            .iter()
            .map(|r| engine.decide(r).decision == writ::Verdict::Allow)
            .collect();
        let allowed = writ_says.iter().filter(|&&a| a).count();
        eprintln!(
            "N={n}: {} rules ({} forbids), {REQUESTS} requests, allowed {allowed} ({:.1}%); writ: {} predicates, {} heap bytes",
            w.rules.len(),
            w.rules.len() - w.permits,
            100.0 * allowed as f64 / REQUESTS as f64,
            engine.compiled().predicate_count(),
            engine.compiled().heap_bytes(),
        );

        // Rust baseline
        let rust = w.rust_policy();
        let rust_reqs: Vec<_> = w.requests.iter().map(|r| r.rust()).collect();
        for (i, r) in rust_reqs.iter().enumerate() {
            let got = rust.decide(r);
            if got != writ_says[i] {
                disagreement(&w, i, "rust", got, writ_says[i]);
            }
        }

        // Cedar
        let auth = Authorizer::new();
        let cedar_set = PolicySet::from_str(&w.cedar_policy()).unwrap();
        let sliced = CedarSliced::new(&w);
        let creqs = cedar_requests(&w);
        for (i, r) in creqs.iter().enumerate() {
            let got = sliced.allows(&auth, r);
            if got != writ_says[i] {
                disagreement(&w, i, "cedar (sliced)", got, writ_says[i]);
            }
        }
        let cedar_one = time_one(creqs.len(), |i| cedar_allows(&auth, &cedar_set, &creqs[i]));
        let cedar_full = n < 10_000 || cedar_one <= SLOW;
        // A skipped engine is still checked, on the first SPOT_CHECK requests.
        let cedar_checked = if cedar_full { creqs.len() } else { SPOT_CHECK };
        for (i, r) in creqs.iter().enumerate().take(cedar_checked) {
            let got = cedar_allows(&auth, &cedar_set, r);
            if got != writ_says[i] {
                disagreement(&w, i, "cedar", got, writ_says[i]);
            }
        }
        if !cedar_full {
            eprintln!(
                "N={n}: full Cedar skipped: one decision takes {cedar_one:?} (> {SLOW:?}); \
                 agreement checked on the first {SPOT_CHECK} requests only"
            );
        }

        // regorus
        let mut rego = regorus::Engine::new();
        // regorus limits one policy file to 1 MiB and 20,000 lines: 500 rules per module.
        for (i, module) in w.rego_modules(500).into_iter().enumerate() {
            rego.add_policy(format!("workload{i}.rego"), module)
                .unwrap();
        }
        let inputs: Vec<regorus::Value> = w
            .requests
            .iter()
            .map(|r| regorus::Value::from_json_str(&r.rego_input().to_string()).unwrap())
            .collect();
        let rego_one = time_one(inputs.len(), |i| rego_allows(&mut rego, &inputs[i]));
        let rego_ok = n < 10_000 || rego_one <= SLOW;
        let rego_checked = if rego_ok { inputs.len() } else { SPOT_CHECK };
        for (i, input) in inputs.iter().enumerate().take(rego_checked) {
            let got = rego_allows(&mut rego, input);
            if got != writ_says[i] {
                disagreement(&w, i, "regorus", got, writ_says[i]);
            }
        }
        if !rego_ok {
            eprintln!(
                "N={n}: regorus skipped: one decision takes {rego_one:?} (> {SLOW:?}); \
                 agreement checked on the first {SPOT_CHECK} requests only"
            );
        }
        eprintln!("N={n}: one decision (rough): cedar {cedar_one:?}, regorus {rego_one:?}");
        eprintln!(
            "N={n}: all engines agree: writ, rust, cedar_sliced on all {REQUESTS} requests, \
             cedar on {cedar_checked}, regorus on {rego_checked}"
        );

        // Timing.
        let mut g = c.benchmark_group(format!("decide/{n}"));
        g.sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        {
            let mut i = 0usize;
            g.bench_function("writ", |b| {
                b.iter(|| {
                    i = (i + 1) % bound.len();
                    black_box(engine.decide(black_box(&bound[i])).decision == writ::Verdict::Allow)
                })
            });
        }
        {
            let mut i = 0usize;
            g.bench_function("rust", |b| {
                b.iter(|| {
                    i = (i + 1) % rust_reqs.len();
                    black_box(rust.decide(black_box(&rust_reqs[i])))
                })
            });
        }
        {
            let mut i = 0usize;
            g.bench_function("cedar_sliced", |b| {
                b.iter(|| {
                    i = (i + 1) % creqs.len();
                    black_box(sliced.allows(&auth, black_box(&creqs[i])))
                })
            });
        }
        if cedar_full {
            let mut i = 0usize;
            g.bench_function("cedar", |b| {
                b.iter(|| {
                    i = (i + 1) % creqs.len();
                    black_box(cedar_allows(&auth, &cedar_set, black_box(&creqs[i])))
                })
            });
        } else {
            eprintln!("decide/{n}/cedar: skipped ({cedar_one:?} per decision)");
        }
        if rego_ok {
            let mut i = 0usize;
            g.bench_function("regorus", |b| {
                b.iter(|| {
                    i = (i + 1) % inputs.len();
                    black_box(rego_allows(&mut rego, black_box(&inputs[i])))
                })
            });
        } else {
            eprintln!("decide/{n}/regorus: skipped ({rego_one:?} per decision)");
        }
        g.finish();

        if n == 1000 {
            let texts: Vec<String> = w
                .requests
                .iter()
                .map(|r| r.writ_json().to_string())
                .collect();
            let mut g = c.benchmark_group(format!("writ_from_json/{n}"));
            g.sample_size(30)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(3));
            let mut i = 0usize;
            g.bench_function("bind_str+decide", |b| {
                b.iter(|| {
                    i = (i + 1) % texts.len();
                    let req = engine.bind_str(black_box(&texts[i])).unwrap();
                    black_box(engine.decide(&req).decision == writ::Verdict::Allow)
                })
            });
            g.finish();
        }

        if n == 10_000 {
            eprintln!(
                "N={n}: writ policy text {} bytes; compiled: {} predicates, {} nodes, {} heap bytes",
                writ_text.len(),
                engine.compiled().predicate_count(),
                engine.compiled().node_count(),
                engine.compiled().heap_bytes(),
            );
            let mut g = c.benchmark_group(format!("compile/{n}"));
            g.sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(5));
            g.bench_function("writ::from_sources", |b| {
                b.iter(|| {
                    black_box(
                        writ::from_sources(&[("workload.writ", black_box(writ_text.as_str()))])
                            .unwrap(),
                    )
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
