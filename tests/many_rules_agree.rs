//! The many-rules-per-action workload (`writ_gensets::many`): writ and the hand-written
//! function give the same answer on every request, and the set is a useful one (some
//! requests allowed, some denied, many rules filed under each action).

#![allow(clippy::unwrap_used, clippy::panic, reason = "a test")]

use writ_gensets::many::ManyRules;

#[test]
fn writ_and_the_hand_written_function_agree() {
    let w = ManyRules::generate(0x3a11, 3_000, 3_000);
    let engine = writ::from_sources(&[("many.writ", w.writ_policy().as_str())])
        .unwrap_or_else(|e| panic!("writ rejects the workload:\n{e}"));
    let rust = w.rust_policy();
    let mut allowed = 0;
    let mut candidates = 0;
    for (i, r) in w.requests.iter().enumerate() {
        let writ_allows =
            engine.decide(&engine.bind(r.writ_json()).unwrap()).decision == writ::Verdict::Allow;
        assert_eq!(
            writ_allows,
            rust.decide(r),
            "request {i}: {}",
            r.writ_json()
        );
        allowed += usize::from(writ_allows);
        candidates += rust.candidates(r);
    }
    let n = w.requests.len();
    assert!(
        allowed * 10 > n && allowed * 10 < n * 9,
        "allowed {allowed} of {n}"
    );
    // About 3,000 × (0.9 / 224 + 0.08 / 16 + 0.02 / 14) ≈ 31 rules under each request.
    assert!(
        candidates / n > 20,
        "{} candidates a request",
        candidates / n
    );
}
