//! Decision benchmarks: writ against Cedar (full and pre-sliced by action), regorus (Rego;
//! its interpreter and its RVM bytecode machine) and a hand-written Rust evaluator, on one
//! generated workload (`writ-gensets`) with N = 10, 100, 1000, 10000 permit rules and
//! 10,000 requests; then writ alone on the full-style set (risk, zoned windows, CIDR sets,
//! merging approvals: every decision, and the `approve` decisions with their digest, median
//! and p99), JSON text to decision, and compiling 10,000 rules. The run ends with one table
//! of every figure against its target (issue 14), read back from criterion's estimates.
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
use criterion::{Criterion, SamplingMode};
use writ_gensets::Workload;

#[path = "support/summary.rs"]
mod summary;

use summary::Notes;

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

/// regorus's RVM: the same modules compiled to its register-machine bytecode, or why it
/// cannot take them (one program holds at most 65,535 instructions).
fn rego_vm(engine: &mut regorus::Engine) -> Result<regorus::rvm::vm::RegoVM, String> {
    let policy = engine
        .compile_with_entrypoint(&"data.writ.allow".into())
        .map_err(|e| e.to_string())?;
    let program = regorus::languages::rego::compiler::Compiler::compile_from_policy(
        &policy,
        &["data.writ.allow"],
    )
    .map_err(|e| format!("{e:?}"))?;
    let mut vm = regorus::rvm::vm::RegoVM::new();
    vm.load_program(program);
    Ok(vm)
}

fn rvm_allows(vm: &mut regorus::rvm::vm::RegoVM, input: &regorus::Value) -> bool {
    vm.set_input(input.clone());
    vm.execute_entry_point_by_index(0).unwrap() == regorus::Value::from(true)
}

/// A benchmark group with this file's sampling: 30 samples, 1 s warm-up, 3 s measuring.
fn group(
    c: &mut Criterion,
    name: impl Into<String>,
) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g
}

/// Times `decide` on each item in turn, one item per iteration, so that a figure is the
/// mean over varied requests.
fn round_robin<T, R>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    items: &[T],
    mut decide: impl FnMut(&T) -> R,
) {
    let mut i = 0usize;
    g.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % items.len();
            black_box(decide(black_box(&items[i])))
        })
    });
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

fn bench(c: &mut Criterion, notes: &mut Notes) {
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

        if n == 1000 || n == 10_000 {
            notes.heap_bytes.push((n, engine.compiled().heap_bytes()));
        }

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
        let mut rvm = match rego_vm(&mut rego) {
            Ok(vm) => Some(vm),
            Err(e) => {
                eprintln!("N={n}: regorus RVM cannot compile the set: {e}");
                None
            }
        };
        let rvm_one = rvm.as_mut().map_or(Duration::MAX, |vm| {
            time_one(inputs.len(), |i| rvm_allows(vm, &inputs[i]))
        });
        let rvm_ok = rvm.is_some() && (n < 10_000 || rvm_one <= SLOW);
        let rvm_checked = match rvm.as_mut() {
            None => 0,
            Some(_) if rvm_ok => inputs.len(),
            Some(_) => SPOT_CHECK,
        };
        if let Some(vm) = rvm.as_mut() {
            for (i, input) in inputs.iter().enumerate().take(rvm_checked) {
                let got = rvm_allows(vm, input);
                if got != writ_says[i] {
                    disagreement(&w, i, "regorus RVM", got, writ_says[i]);
                }
            }
        }
        let rvm_note = if rvm.is_some() {
            format!("{rvm_one:?}")
        } else {
            "cannot compile".to_string()
        };
        eprintln!(
            "N={n}: one decision (rough): cedar {cedar_one:?}, regorus {rego_one:?}, regorus RVM {rvm_note}"
        );
        eprintln!(
            "N={n}: all engines agree: writ, rust, cedar_sliced on all {REQUESTS} requests, \
             cedar on {cedar_checked}, regorus on {rego_checked}, regorus RVM on {rvm_checked}"
        );

        // Timing.
        let mut g = group(c, format!("decide/{n}"));
        round_robin(&mut g, "writ", &bound, |x| {
            black_box(engine.decide_ref(black_box(x)).verdict() == writ::Verdict::Allow)
        });
        // The owned decision: every name and list copied out of the engine.
        round_robin(&mut g, "writ_owned", &bound, |x| {
            black_box(engine.decide(black_box(x)).decision == writ::Verdict::Allow)
        });
        round_robin(&mut g, "rust", &rust_reqs, |x| {
            black_box(rust.decide(black_box(x)))
        });
        round_robin(&mut g, "cedar_sliced", &creqs, |x| {
            black_box(sliced.allows(&auth, black_box(x)))
        });
        if cedar_full {
            round_robin(&mut g, "cedar", &creqs, |x| {
                black_box(cedar_allows(&auth, &cedar_set, black_box(x)))
            });
        } else {
            eprintln!("decide/{n}/cedar: skipped ({cedar_one:?} per decision)");
        }
        if rego_ok {
            round_robin(&mut g, "regorus", &inputs, |x| {
                black_box(rego_allows(&mut rego, black_box(x)))
            });
        } else {
            eprintln!("decide/{n}/regorus: skipped ({rego_one:?} per decision)");
        }
        if let (true, Some(vm)) = (rvm_ok, rvm.as_mut()) {
            round_robin(&mut g, "regorus_rvm", &inputs, |x| {
                black_box(rvm_allows(vm, black_box(x)))
            });
        } else if rvm.is_some() {
            eprintln!("decide/{n}/regorus_rvm: skipped ({rvm_one:?} per decision)");
        }
        g.finish();

        if n == 1000 {
            let texts: Vec<String> = w
                .requests
                .iter()
                .map(|r| r.writ_json().to_string())
                .collect();
            let mut g = group(c, format!("writ_from_json/{n}"));
            round_robin(&mut g, "bind_str+decide", &texts, |t| {
                engine.decide_ref(&engine.bind_str(t).unwrap()).verdict() == writ::Verdict::Allow
            });
            round_robin(&mut g, "builder+decide", &w.requests, |r| {
                engine
                    .decide_ref(&r.writ_builder(&engine).build().unwrap())
                    .verdict()
                    == writ::Verdict::Allow
            });
            g.finish();
            let mut g = group(c, format!("decide_batch/{n}"));
            g.throughput(criterion::Throughput::Elements(bound.len() as u64));
            g.bench_function("writ", |b| {
                b.iter(|| black_box(engine.decide_batch(black_box(&bound))))
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
    for permits in [1000, 10_000] {
        full_style(c, notes, permits);
    }
    for rules in [1000, 10_000] {
        many_rules(c, rules);
    }
}

/// The many-rules-per-action set (`writ_gensets::many`): writ against the hand-written
/// function that scans every rule filed under the request's action, after both agree on
/// every request.
fn many_rules(c: &mut Criterion, rules: usize) {
    let w = writ_gensets::many::ManyRules::generate(0x3a11, rules, REQUESTS);
    let engine = writ::from_sources(&[("many.writ", w.writ_policy().as_str())])
        .unwrap_or_else(|e| panic!("writ rejects the many-rules set:\n{e}"));
    let bound: Vec<writ::Request> = w
        .requests
        .iter()
        .map(|r| engine.bind(r.writ_json()).unwrap())
        .collect();
    let rust = w.rust_policy();
    let mut allowed = 0;
    let mut candidates = 0;
    for (i, r) in w.requests.iter().enumerate() {
        let writ_allows = engine.decide(&bound[i]).decision == writ::Verdict::Allow;
        assert_eq!(
            writ_allows,
            rust.decide(r),
            "many/{rules}: request {i} disagrees: {}",
            r.writ_json()
        );
        allowed += usize::from(writ_allows);
        candidates += rust.candidates(r);
    }
    let tried: usize = bound.iter().map(|r| engine.rules_tried(r)).sum();
    eprintln!(
        "many/{rules}: {REQUESTS} requests, allowed {allowed}; {:.1} rules filed under a request's action, writ tries {:.1}; {} heap bytes; writ and rust agree on all",
        candidates as f64 / REQUESTS as f64,
        tried as f64 / REQUESTS as f64,
        engine.compiled().heap_bytes(),
    );
    let mut g = group(c, format!("many/{rules}"));
    round_robin(&mut g, "writ", &bound, |x| {
        black_box(engine.decide_ref(black_box(x)).verdict() == writ::Verdict::Allow)
    });
    round_robin(&mut g, "rust", &w.requests, |x| {
        black_box(rust.decide(black_box(x)))
    });
    g.finish();
}

/// The full-style set at `permits` permits: every decision, then the `approve` decisions
/// alone (each computes its transaction digest), median by criterion and, at 1,000
/// permits, p99 by timing each decision on its own.
fn full_style(c: &mut Criterion, notes: &mut Notes, permits: usize) {
    let set = writ_gensets::full_style::full_style(11, permits, REQUESTS);
    let engine = writ::from_sources(&[("full.writ", set.policy.as_str())])
        .unwrap_or_else(|e| panic!("writ rejects the full-style set:\n{e}"));
    let bound: Vec<writ::Request> = set
        .requests
        .iter()
        .map(|r| engine.bind(r.clone()).unwrap())
        .collect();
    let approve: Vec<&writ::Request> = bound
        .iter()
        .filter(|r| engine.decide(r).decision == writ::Verdict::Approve)
        .collect();
    let allowed = bound
        .iter()
        .filter(|r| engine.decide(r).decision == writ::Verdict::Allow)
        .count();
    let tried: usize = bound.iter().map(|r| engine.rules_tried(r)).sum();
    eprintln!(
        "full style, {permits} permits: {} requests, {allowed} allowed, {} approve; writ tries {:.1} rules a request; {} heap bytes",
        bound.len(),
        approve.len(),
        tried as f64 / bound.len() as f64,
        engine.compiled().heap_bytes(),
    );
    // Per request, as `writ bench` measures: each request decided 16 times in a row,
    // rounds over all requests; the median and p99 over requests, and the mean.
    let mut per_request: Vec<f64> = Vec::with_capacity(bound.len() * 3);
    for _ in 0..3 {
        for r in &bound {
            let t = Instant::now();
            for _ in 0..16 {
                black_box(engine.decide_ref(black_box(r)));
            }
            per_request.push(t.elapsed().as_nanos() as f64 / 16.0);
        }
    }
    let mean = per_request.iter().sum::<f64>() / per_request.len() as f64;
    per_request.sort_by(f64::total_cmp);
    let median = per_request[per_request.len() / 2];
    let p99 = per_request[per_request.len() * 99 / 100];
    notes.full_style.push((permits, median, mean, p99));
    eprintln!(
        "full_style/{permits}, per request (writ bench style): median {median:.0} ns, mean {mean:.0} ns, p99 {p99:.0} ns"
    );
    assert!(
        !approve.is_empty(),
        "the full-style set must produce approve decisions"
    );
    let digest_of = |r: &writ::Request| {
        engine
            .decide_ref(r)
            .approval()
            .map_or(0, |a| a.digest.len())
    };

    let mut g = group(c, format!("full_style/{permits}"));
    round_robin(&mut g, "writ", &bound, |x| {
        black_box(engine.decide_ref(black_box(x)).verdict() == writ::Verdict::Allow)
    });
    round_robin(&mut g, "approve_with_digest", &approve, |x| {
        black_box(digest_of(black_box(*x)))
    });
    g.finish();
    if permits != 1000 {
        return;
    }

    // p99: each approve decision timed on its own (the clock's own cost, ~20-40 ns, is in
    // every sample), after a warm-up pass.
    for r in &approve {
        black_box(digest_of(r));
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(100_000);
    for k in 0..100_000 {
        let r = approve[k % approve.len()];
        let t = Instant::now();
        black_box(digest_of(black_box(r)));
        samples.push(t.elapsed());
    }
    samples.sort_unstable();
    notes.approve_p50 = Some(samples[samples.len() / 2]);
    notes.approve_p99 = Some(samples[samples.len() * 99 / 100]);
    eprintln!(
        "full_style/1000/approve_with_digest, each timed alone: p50 {:?}, p99 {:?}",
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100]
    );
}

fn main() {
    let started = std::time::SystemTime::now();
    let mut c = Criterion::default().configure_from_args();
    let mut notes = Notes::default();
    bench(&mut c, &mut notes);
    c.final_summary();
    summary::print(&notes, started);
}
