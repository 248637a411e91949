//! Differential test: writ and Cedar decide the same generated workloads identically.
//!
//! For 20 seeds and N in {10, 100} permit rules, a workload (`writ-gensets`) with 2,000
//! requests is rendered as writ and as Cedar; every request must get the same allow/deny
//! from both (and from the hand-written Rust evaluator, which checks the renderings).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::str::FromStr;

use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet};
use writ_gensets::Workload;

const SEEDS: u64 = 20;
const SIZES: [usize; 2] = [10, 100];
const REQUESTS: usize = 2_000;

fn cedar_allows(auth: &Authorizer, set: &PolicySet, r: &writ_gensets::Request) -> bool {
    let c = r.cedar();
    let request = cedar_policy::Request::new(
        EntityUid::from_str(&c.principal).unwrap(),
        EntityUid::from_str(&c.action).unwrap(),
        EntityUid::from_str(&c.resource).unwrap(),
        Context::from_json_value(c.context, None).unwrap(),
        None,
    )
    .unwrap();
    let entities = Entities::from_json_value(c.entities, None).unwrap();
    let response = auth.is_authorized(&request, set, &entities);
    assert!(
        response.diagnostics().errors().next().is_none(),
        "Cedar evaluation errors: {:?}",
        response.diagnostics().errors().collect::<Vec<_>>()
    );
    response.decision() == Decision::Allow
}

#[test]
fn writ_and_cedar_agree_on_generated_workloads() {
    let auth = Authorizer::new();
    let (mut total, mut allowed) = (0usize, 0usize);
    for seed in 1..=SEEDS {
        for n in SIZES {
            let w = Workload::generate(seed, n, REQUESTS);
            let writ_text = w.writ_policy();
            let engine = writ::from_sources(&[("workload.writ", writ_text.as_str())])
                .unwrap_or_else(|e| panic!("seed {seed}, N={n}: writ rejects the workload:\n{e}"));
            let cedar_text = w.cedar_policy();
            let set = PolicySet::from_str(&cedar_text).unwrap();
            let rust = w.rust_policy();
            for (i, r) in w.requests.iter().enumerate() {
                let json = r.writ_json();
                let writ_allows = engine.decide(&engine.bind(json.clone()).unwrap()).decision
                    == writ::Verdict::Allow;
                let cedar = cedar_allows(&auth, &set, r);
                let rust_allows = rust.decide(&r.rust());
                if writ_allows != cedar || rust_allows != cedar {
                    let rules: Vec<&writ_gensets::Rule> = w
                        .rules
                        .iter()
                        .filter(|x| x.action.as_deref().is_none_or(|a| a == r.action))
                        .collect();
                    panic!(
                        "seed {seed}, N={n}, request {i}: writ {writ_allows}, cedar {cedar}, rust {rust_allows}\n\
                         request: {}\ncedar context: {}\nrules for the action: {rules:#?}\n\
                         --- writ policy ---\n{writ_text}\n--- cedar policy ---\n{cedar_text}",
                        serde_json::to_string_pretty(&json).unwrap(),
                        r.cedar().context,
                    );
                }
                total += 1;
                allowed += usize::from(cedar);
            }
        }
    }
    let frac = allowed as f64 / total as f64;
    eprintln!("{total} requests, {allowed} allowed ({:.1}%)", 100.0 * frac);
    // The workload is meant to exercise both outcomes.
    assert!((0.15..0.6).contains(&frac), "allowed fraction {frac}");
}
